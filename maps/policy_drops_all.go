package maps

// All returns the summed counters of every slot, indexed by slot (the last is DefaultRuleSlot).
// One lookup syscall per slot (1,024).
func (p *PolicyDrops) All() ([]Counter, error) {
	out := make([]Counter, p.m.MaxEntries())
	for i := range out {
		c, err := p.Read(i)
		if err != nil {
			return nil, err
		}
		out[i] = c
	}
	return out, nil
}
