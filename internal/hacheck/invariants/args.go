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

// PrimusAPIAddressFlag is the flag of the address primus serves its API
// on; "0" turns the API off.
const PrimusAPIAddressFlag = "--api-bind-address"

// PrimusDeprecatedAPIAddressFlag is the management API's address of an
// earlier primus chart; when set (non-empty) it replaces
// PrimusAPIAddressFlag, as the binary reads it (cmd/primus/flags.go).
const PrimusDeprecatedAPIAddressFlag = "--management-api-bind-address"

// PrimusAPIAddress returns the address a primus command line args has the
// API listen on, with the binary's precedence: the deprecated flag when set
// and non-empty, else PrimusAPIAddressFlag; empty when neither is set. It
// reads the arguments as written: a $(VAR) reference is not expanded (the
// election reader, which knows the container's environment, does that).
func PrimusAPIAddress(args []string) string {
	return apiAddress(func(flag string) (string, bool) { return ArgValue(args, flag) }, PrimusAPIAddressFlag, PrimusDeprecatedAPIAddressFlag)
}

// apiAddress applies the binary's precedence between an API's address
// flags: deprecated when set and non-empty, else primary; lookup reads one
// flag's value. An empty deprecated names no such flag.
func apiAddress(lookup func(flag string) (string, bool), primary, deprecated string) string {
	if deprecated != "" {
		if v, ok := lookup(deprecated); ok && v != "" {
			return v
		}
	}
	v, _ := lookup(primary)
	return v
}
