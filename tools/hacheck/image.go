package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/primus-dev/primus/internal/hacheck/cluster"
	"github.com/primus-dev/primus/internal/hacheck/image"
	"github.com/primus-dev/primus/internal/hacheck/render"
)

// defaultImageRepository is where the release pushes the image; the
// chart's image.repository default names the same (a test compares them).
const defaultImageRepository = "ghcr.io/primus-dev/primus"

func newImageCommand(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Build, sign and push the Primus image, or verify its signature",
	}
	cmd.AddCommand(newImagePublishCommand(stdout, stderr), newImageVerifyCommand(stdout, stderr))
	return cmd
}

// imageFlags are the flags of `hacheck image publish`.
type imageFlags struct {
	repository, tag, chart     string
	version, revision, source  string
	licenses, created, signKey string
	username, workDir          string
	platforms                  []string
	passwordStdin, plainHTTP   bool
}

func (f *imageFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.repository, "repository", defaultImageRepository, "image repository to push to")
	fs.StringVar(&f.tag, "tag", "", "image tag (default: the chart's appVersion)")
	fs.StringVar(&f.chart, "chart", "charts/primus", "chart whose appVersion is the default tag and version")
	fs.StringVar(&f.version, "version", "", "org.opencontainers.image.version (default: the tag)")
	fs.StringVar(&f.revision, "revision", "", "org.opencontainers.image.revision (default: git rev-parse HEAD)")
	fs.StringVar(&f.source, "source", image.DefaultSource, "org.opencontainers.image.source")
	fs.StringVar(&f.licenses, "licenses", image.DefaultLicenses, "org.opencontainers.image.licenses (SPDX expression)")
	fs.StringVar(&f.created, "created", "", "image timestamp, Unix seconds or RFC 3339 (default: $SOURCE_DATE_EPOCH, else the HEAD commit's time)")
	fs.StringArrayVar(&f.platforms, "platform", nil, "os/arch to build (can repeat; default linux/amd64 and linux/arm64)")
	fs.StringVar(&f.signKey, "sign-key", "", "PEM private key (ECDSA P-256, unencrypted) to sign the index and the SBOM with; empty pushes unsigned")
	fs.StringVar(&f.username, "username", "", "registry user name (with --password-stdin); default: the docker config's credentials")
	fs.BoolVar(&f.passwordStdin, "password-stdin", false, "read the registry password from stdin")
	fs.BoolVar(&f.plainHTTP, "plain-http", false, "talk plain HTTP to the registry (a local test registry)")
	fs.StringVar(&f.workDir, "work-dir", "", "directory for the built binaries (default: a temporary directory, removed afterwards)")
}

// reference is the tag the index is pushed to.
func (f *imageFlags) reference() (name.Tag, error) {
	tag := f.tag
	if tag == "" {
		ch, err := render.LoadChart(f.chart)
		if err != nil {
			return name.Tag{}, usageError{fmt.Errorf("--chart %s: %w", f.chart, err)}
		}
		tag = ch.Metadata.AppVersion
	}
	var opts []name.Option
	if f.plainHTTP {
		opts = append(opts, name.Insecure)
	}
	ref, err := name.NewTag(f.repository+":"+tag, append(opts, name.StrictValidation)...)
	if err != nil {
		return name.Tag{}, usageError{fmt.Errorf("--repository %q --tag %q: %w", f.repository, tag, err)}
	}
	return ref, nil
}

// options resolves the flags into what image.Publish takes.
func (f *imageFlags) options(ctx context.Context, root string, stdin io.Reader, log io.Writer) (image.Options, error) {
	ref, err := f.reference()
	if err != nil {
		return image.Options{}, err
	}
	o := image.Options{Root: root, Tag: ref, Log: log, WorkDir: f.workDir}
	for _, p := range f.platforms {
		pl, err := image.ParsePlatform(p)
		if err != nil {
			return o, usageError{fmt.Errorf("--platform: %w", err)}
		}
		o.Platforms = append(o.Platforms, pl)
	}
	o.Metadata = image.Metadata{Version: f.version, Revision: f.revision, Source: f.source, Licenses: f.licenses}
	if o.Metadata.Version == "" {
		o.Metadata.Version = ref.TagStr()
	}
	if o.Metadata.Revision == "" {
		if o.Metadata.Revision, err = git(ctx, root, "rev-parse", "HEAD"); err != nil {
			return o, usageError{fmt.Errorf("--revision: not set and %w", err)}
		}
	}
	created := f.created
	if created == "" {
		created = os.Getenv("SOURCE_DATE_EPOCH")
	}
	if created == "" {
		if created, err = git(ctx, root, "log", "-1", "--format=%ct", "HEAD"); err != nil {
			return o, usageError{fmt.Errorf("--created: not set and %w", err)}
		}
	}
	if o.Metadata.Created, err = parseCreated(created); err != nil {
		return o, usageError{fmt.Errorf("--created %q: %w", created, err)}
	}
	if err := o.Metadata.Validate(); err != nil {
		return o, usageError{err}
	}
	if f.signKey != "" {
		if o.Signer, err = image.LoadSigner(f.signKey); err != nil {
			return o, usageError{err}
		}
	}
	auth, err := f.auth(stdin)
	if err != nil {
		return o, err
	}
	o.Remote = append(o.Remote, auth)
	return o, nil
}

func (f *imageFlags) auth(stdin io.Reader) (remote.Option, error) {
	if f.username == "" && !f.passwordStdin {
		return remote.WithAuthFromKeychain(authn.DefaultKeychain), nil
	}
	if f.username == "" || !f.passwordStdin {
		return nil, usageError{fmt.Errorf("--username and --password-stdin go together")}
	}
	pw, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("--password-stdin: %w", err)
	}
	return remote.WithAuth(&authn.Basic{Username: f.username, Password: strings.TrimRight(pw, "\r\n")}), nil
}

// parseCreated reads Unix seconds or RFC 3339.
func parseCreated(s string) (time.Time, error) {
	if secs, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); err == nil {
		return time.Unix(secs, 0).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("want Unix seconds or RFC 3339")
	}
	return t.UTC(), nil
}

func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s failed: %w", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out)), nil
}

func newImagePublishCommand(stdout, stderr io.Writer) *cobra.Command {
	var f imageFlags
	cmd := &cobra.Command{
		Use:   "publish",
		Short: "Build the image index (linux/amd64, linux/arm64) from cmd/primus, push it with its SBOM, and sign both",
		Long: `publish cross-compiles cmd/primus (CGO_ENABLED=0, -trimpath), puts each
binary with a CA bundle on an empty base as one OCI image index (user 65532,
no shell, OCI annotations, every timestamp set to --created so one commit gives
one digest), pushes it to --repository:--tag, attaches an SPDX SBOM of the Go
build info as an OCI referrer, and with --sign-key signs the index and the SBOM
in cosign's format. It prints the pushed digests.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			root, err := cluster.FindRepoRoot()
			if err != nil {
				return err
			}
			opts, err := f.options(ctx, root, cmd.InOrStdin(), stderr)
			if err != nil {
				return err
			}
			if opts.WorkDir == "" {
				if opts.WorkDir, err = os.MkdirTemp("", "hacheck-image-"); err != nil {
					return err
				}
				defer os.RemoveAll(opts.WorkDir)
			}
			res, err := image.Publish(ctx, opts)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "image   %s@%s\n", opts.Tag, res.Index.DigestStr())
			fmt.Fprintf(stdout, "digest  %s\n", res.Index.DigestStr())
			fmt.Fprintf(stdout, "sbom    %s\n", res.SBOM)
			for _, d := range res.Signed {
				fmt.Fprintf(stdout, "signed  %s\n", d)
			}
			return nil
		},
	}
	f.register(cmd.Flags())
	return cmd
}

func newImageVerifyCommand(stdout, stderr io.Writer) *cobra.Command {
	var key string
	var plainHTTP bool
	cmd := &cobra.Command{
		Use:   "verify REPOSITORY@sha256:DIGEST",
		Short: "Verify the cosign signature of an image (or its SBOM) by digest with a public key (exit 1 when none verifies)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if key == "" {
				return usageError{fmt.Errorf("--key: the public key file is required")}
			}
			var opts []name.Option
			if plainHTTP {
				opts = append(opts, name.Insecure)
			}
			d, err := name.NewDigest(args[0], opts...)
			if err != nil {
				return usageError{fmt.Errorf("%q: want REPOSITORY@sha256:DIGEST: %w", args[0], err)}
			}
			v, err := image.LoadVerifier(key)
			if err != nil {
				return usageError{err}
			}
			n, err := image.Verify(cmd.Context(), d, v, remote.WithAuthFromKeychain(authn.DefaultKeychain))
			if err != nil {
				// A signature that does not verify is a failed check
				// (exit 1), not a runtime failure.
				fmt.Fprintf(stderr, "hacheck: %s\n", err)
				return errFindings
			}
			fmt.Fprintf(stdout, "%s: %d valid signature(s) by %s\n", d, n, key)
			return nil
		},
	}
	cmd.Flags().StringVar(&key, "key", "", "PEM public key")
	cmd.Flags().BoolVar(&plainHTTP, "plain-http", false, "talk plain HTTP to the registry")
	return cmd
}
