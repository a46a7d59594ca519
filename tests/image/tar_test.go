package image

import (
	"archive/tar"
	"errors"
	"io"
)

// readTar reads the regular files of a tar stream and closes it.
func readTar(rc io.ReadCloser) (map[string][]byte, error) {
	defer rc.Close()
	files := map[string][]byte{}
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files, nil
		}
		if err != nil {
			return nil, err
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return nil, err
		}
		files[hdr.Name] = b
	}
}
