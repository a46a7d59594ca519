// Package chartrepo serves a directory of packaged charts (index.yaml, the
// .tgz archives and their .prov provenance files) as an HTTPS Helm chart
// repository, and reads such a directory's index back, checking it against
// the files it names.
//
// Packaging and signing are not here: they are the helm CLI's job
// (ci/package.sh), so what is tested is what the release workflow runs.
package chartrepo

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Server is a running chart repository. Close stops it.
type Server struct {
	dir  string
	ln   net.Listener
	srv  *http.Server
	done chan error
	once sync.Once

	mu       sync.Mutex
	requests []string
}

// Serve serves dir on 127.0.0.1, on a free port, over TLS. Only index.yaml
// and *.tgz and *.prov files directly in dir are served, as a static chart
// repository (GitHub Pages, S3) serves them; anything else is 404.
func Serve(dir string, tlsConfig *tls.Config) (*Server, error) {
	if tlsConfig == nil {
		return nil, errors.New("chart repository: a TLS configuration is required")
	}
	if _, err := os.Stat(filepath.Join(dir, IndexFile)); err != nil {
		return nil, fmt.Errorf("chart repository %s: %w", dir, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("chart repository listen: %w", err)
	}
	s := &Server{dir: dir, ln: ln, done: make(chan error, 1)}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serveHTTP), TLSConfig: tlsConfig, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		err := s.srv.ServeTLS(ln, "", "")
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.done <- err
	}()
	return s, nil
}

// IndexFile is the name of a repository's index.
const IndexFile = "index.yaml"

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
	s.mu.Lock()
	s.requests = append(s.requests, name)
	s.mu.Unlock()
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	var contentType string
	switch {
	case name == IndexFile:
		contentType = "application/x-yaml"
	case strings.HasSuffix(name, ".tgz"):
		contentType = "application/gzip"
	case strings.HasSuffix(name, ".prov"):
		contentType = "application/pgp-signature"
	}
	if contentType == "" || strings.Contains(name, "/") {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", contentType)
	http.ServeFile(w, r, filepath.Join(s.dir, name))
}

// URL is the repository URL users pass to `--repo` or `helm repo add`,
// with a trailing slash.
func (s *Server) URL() string { return "https://" + s.ln.Addr().String() + "/" }

// Requests are the paths requested so far, in order, without the leading
// slash: what a client fetched (index.yaml, the archive, its .prov).
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

// Close stops the server. Closing twice is safe.
func (s *Server) Close() error {
	var err error
	s.once.Do(func() {
		err = s.srv.Close()
		if serveErr := <-s.done; err == nil {
			err = serveErr
		}
	})
	return err
}
