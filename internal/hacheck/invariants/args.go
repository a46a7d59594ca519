package invariants

import "strings"

// ArgValue returns the value of --flag=value (or --flag value) in args,
// the last one when the flag repeats, as the binary's flag parser reads it.
func ArgValue(args []string, flag string) (string, bool) {
	value, found := "", false
	for i, arg := range args {
		name, v, hasValue := strings.Cut(arg, "=")
		if name != flag {
			continue
		}
		if !hasValue && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			v = args[i+1]
		}
		value, found = v, true
	}
	return value, found
}
