package testbed

// InNetns runs fn on a locked OS thread switched into namespace name (created by Netns) and
// switches back afterwards: sockets, netlink calls and processes fn starts (os/exec forks
// from the calling thread) live in that namespace. Errors: unknown namespace, setns failure,
// or fn's error.
func (b *Bed) InNetns(name string, fn func() error) error { return b.inNetns(name, fn) }
