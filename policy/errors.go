package policy

import (
	"errors"
	"strconv"
)

// FieldError is one problem found by [Policy.Validate] or [Compile]: Path names the
// offending field the way the file spells it ("rules[2].ports[0]",
// "defaultPolicyAction", "endpoints[3].name"; empty for the whole document) and Msg
// says what is wrong. Error() is "Path: Msg".
type FieldError struct {
	Path string
	Msg  string
}

// Error is "Path: Msg", or Msg alone when Path is empty.
func (e *FieldError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// FieldErrors returns every *FieldError in err's tree (errors.Join and %w wrapping
// are followed), in order; nil when there are none.
func FieldErrors(err error) []*FieldError {
	var out []*FieldError
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		if fe, ok := e.(*FieldError); ok {
			out = append(out, fe)
			return
		}
		switch u := e.(type) {
		case interface{ Unwrap() []error }:
			for _, c := range u.Unwrap() {
				walk(c)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	return out
}

// fieldErr builds a *FieldError.
func fieldErr(path, msg string) error { return &FieldError{Path: path, Msg: msg} }

// ruleField is the path of a field of rule i: "rules[i]" or "rules[i].field".
func ruleField(i int, field string) string {
	p := "rules[" + strconv.Itoa(i) + "]"
	if field != "" {
		p += "." + field
	}
	return p
}

// joinErrs is errors.Join that returns a nil error for no errors.
func joinErrs(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	return errors.Join(errs...)
}

// itoa is strconv.Itoa, short.
func itoa(i int) string { return strconv.Itoa(i) }
