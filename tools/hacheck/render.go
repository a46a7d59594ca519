package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/primus-dev/primus/internal/hacheck/render"
)

func newRenderCommand(stdout io.Writer) *cobra.Command {
	var vf valueFlags
	var includeCRDs bool
	cmd := &cobra.Command{
		Use:   "render CHART",
		Short: "Print the chart's manifests, rendered in-process exactly as `helm template` does",
		Args:  chartArg,
		RunE: func(_ *cobra.Command, args []string) error {
			opts := vf.options(args[0])
			opts.IncludeCRDs = includeCRDs
			res, err := render.Render(opts)
			if err != nil {
				return err
			}
			_, err = fmt.Fprint(stdout, res.Manifest)
			return err
		},
	}
	vf.register(cmd.Flags(), render.DefaultNamespace)
	cmd.Flags().BoolVar(&includeCRDs, "include-crds", false, "include the chart's CRDs")
	return cmd
}
