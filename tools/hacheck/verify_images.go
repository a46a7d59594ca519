package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/primus-dev/primus/internal/hacheck/verify"
)

// printImages prints, per Pod, the node it runs on, the image its spec
// names and the digest its container runs (the container status's
// imageID), or "unknown" and why.
func printImages(w io.Writer, rep *verify.Report) {
	if len(rep.Pods) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tNODE\tIMAGE\tDIGEST")
	for _, p := range rep.Pods {
		digest := p.Digest
		if digest == verify.DigestUnknown || digest == "" {
			digest = verify.DigestUnknown + " (" + p.DigestReason + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.Name, orNone(p.Node), orNone(p.Image), digest)
	}
	tw.Flush()
	fmt.Fprintln(w)
}
