package schema

import (
	"regexp"
	"strconv"
	"strings"
)

// plainKey matches keys that print bare in a dotted path.
var plainKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// formatKey prints a location in the values as a dotted key:
// "leaderElection.leaseDuration", "tolerations[0].key",
// `nodeSelector["kubernetes.io/os"]`. It walks values to tell an array
// index from an object key that happens to be a number.
func formatKey(values any, path []string) string {
	var sb strings.Builder
	v := values
	for _, seg := range path {
		if arr, ok := v.([]any); ok {
			sb.WriteString("[" + seg + "]")
			v = nil
			if i, err := strconv.Atoi(seg); err == nil && i >= 0 && i < len(arr) {
				v = arr[i]
			}
			continue
		}
		switch {
		case !plainKey.MatchString(seg):
			sb.WriteString("[" + strconv.Quote(seg) + "]")
		case sb.Len() > 0:
			sb.WriteString("." + seg)
		default:
			sb.WriteString(seg)
		}
		obj, _ := v.(map[string]any)
		v = obj[seg]
	}
	return sb.String()
}

// valueAt returns the value at path, nil when there is none.
func valueAt(values any, path []string) any {
	v := values
	for _, seg := range path {
		switch c := v.(type) {
		case map[string]any:
			v = c[seg]
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(c) {
				return nil
			}
			v = c[i]
		default:
			return nil
		}
	}
	return v
}

// clip returns path with no spare capacity, so appending to it never
// writes into a slice another finding shares.
func clip(path []string) []string {
	return path[:len(path):len(path)]
}

// hasPrefix reports whether path starts with prefix.
func hasPrefix(path, prefix []string) bool {
	if len(prefix) > len(path) {
		return false
	}
	for i := range prefix {
		if path[i] != prefix[i] {
			return false
		}
	}
	return true
}
