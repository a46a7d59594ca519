package chartrepo

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"

	"helm.sh/helm/v3/pkg/provenance"
	"helm.sh/helm/v3/pkg/repo"
	"sigs.k8s.io/yaml"
)

// ReadIndex decodes dir/index.yaml strictly (an unknown field is an error,
// where helm would skip the entry with a log line) and checks every chart
// version in it: valid metadata, and a URL naming an archive in dir whose
// SHA-256 is the version's digest. Entries are sorted newest first, as helm
// sorts them.
//
// A URL may be relative (`helm repo index DIR`) or absolute
// (`helm repo index DIR --url URL`); only its last path element is looked
// up in dir.
func ReadIndex(dir string) (*repo.IndexFile, error) {
	file := filepath.Join(dir, IndexFile)
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read index: %w", err)
	}
	var idx repo.IndexFile
	if err := yaml.UnmarshalStrict(data, &idx); err != nil {
		return nil, fmt.Errorf("decode %s: %w", file, err)
	}
	if idx.APIVersion != repo.APIVersionV1 {
		return nil, fmt.Errorf("%s: apiVersion %q, want %q", file, idx.APIVersion, repo.APIVersionV1)
	}
	var errs []error
	for name, versions := range idx.Entries {
		for _, cv := range versions {
			if err := checkVersion(dir, name, cv); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	idx.SortEntries()
	return &idx, nil
}

func checkVersion(dir, name string, cv *repo.ChartVersion) error {
	if cv == nil || cv.Metadata == nil {
		return fmt.Errorf("%s: empty entry", name)
	}
	ref := fmt.Sprintf("%s %s", name, cv.Version)
	if err := cv.Validate(); err != nil {
		return fmt.Errorf("%s: %w", ref, err)
	}
	if cv.Name != name {
		return fmt.Errorf("%s: listed under %q but named %q", ref, name, cv.Name)
	}
	if len(cv.URLs) == 0 {
		return fmt.Errorf("%s: no URL", ref)
	}
	u, err := url.Parse(cv.URLs[0])
	if err != nil {
		return fmt.Errorf("%s: URL %q: %w", ref, cv.URLs[0], err)
	}
	archive := filepath.Join(dir, path.Base(u.Path))
	digest, err := provenance.DigestFile(archive)
	if err != nil {
		return fmt.Errorf("%s: %w", ref, err)
	}
	if digest != cv.Digest {
		return fmt.Errorf("%s: %s has digest %s, the index says %s", ref, filepath.Base(archive), digest, cv.Digest)
	}
	return nil
}
