// Package apis holds the platform's API types; each group version is a
// sub-package: primus/v1alpha1 (the Project CRD) and management/v1alpha1
// (the management API's view of it).
package apis
