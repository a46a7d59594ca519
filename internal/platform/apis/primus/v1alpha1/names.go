package v1alpha1

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

const (
	// NamespacePrefix prefixes a project's name to form its namespace.
	NamespacePrefix = "project-"

	// LabelProject marks every object the controller creates for a project;
	// its value is the project name. It is how the controller finds, watches
	// and deletes what it owns.
	LabelProject = "primus.dev/project"

	// LabelManagedBy is the standard managed-by label, set to ManagedBy.
	LabelManagedBy = "app.kubernetes.io/managed-by"

	// ManagedBy is the value of LabelManagedBy on objects the controller
	// creates.
	ManagedBy = "primus"

	// FinalizerCleanup holds a deleted Project until the controller has
	// deleted its namespace.
	FinalizerCleanup = "primus.dev/cleanup"

	// QuotaName is the name of the project's ResourceQuota.
	QuotaName = "primus-quota"

	// MaxNameLength is the longest project name whose namespace name
	// (NamespacePrefix + name) is still a valid 63-character DNS label.
	MaxNameLength = 63 - len(NamespacePrefix)
)

// NamespaceName returns the namespace of the project called name.
func NamespaceName(name string) string { return NamespacePrefix + name }

// RoleBindingName returns the name of the RoleBinding for m: readable
// (role, kind and a sanitised subject name) and unique (a hash of the whole
// member, so two subjects that sanitise alike never collide). The role is
// part of the name because a RoleBinding's roleRef cannot change: a member
// whose role changes gets a new RoleBinding and the old one is deleted.
func RoleBindingName(m Member) string {
	sum := sha256.Sum256([]byte(string(m.Kind) + "\x00" + m.Namespace + "\x00" + m.Name + "\x00" + string(m.Role)))
	hash := hex.EncodeToString(sum[:])[:10]
	subject := sanitize(m.Name)
	// primus-<role>-<kind>-<subject>-<hash> stays within 63 characters.
	prefix := "primus-" + string(m.Role) + "-" + strings.ToLower(string(m.Kind)) + "-"
	if room := 63 - len(prefix) - len(hash) - 1; len(subject) > room {
		subject = strings.Trim(subject[:room], "-")
	}
	if subject == "" {
		return prefix + hash
	}
	return prefix + subject + "-" + hash
}

// sanitize lower-cases s and replaces every character that is not a DNS
// label character with '-'.
func sanitize(s string) string {
	b := []byte(strings.ToLower(s))
	for i, c := range b {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			b[i] = '-'
		}
	}
	return strings.Trim(string(b), "-")
}
