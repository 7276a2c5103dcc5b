package cli

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/signetproject/signet/policy/catalog"
)

func newPolicyCatalogCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "catalog",
		Short: "Ready-made ClusterImagePolicies shipped in signet: list, show, get",
		Long: `signet ships a catalog of ClusterImagePolicies, each tested: signatures (keyless by a
GitHub Actions workflow, key-signed, the Kubernetes release identity), attestations
(SLSA provenance, vulnerability scans, SBOMs), workloads (every Pod Security Standards
baseline and restricted control, in warn mode by default) and images (age, allowed and
deprecated registries). "get" writes a policy to apply, its parameters filled in with
--set NAME=VALUE (VALUE @FILE reads a file).`,
	}
	cmd.AddCommand(newCatalogListCmd(), newCatalogShowCmd(), newCatalogGetCmd())
	return cmd
}

func newCatalogListCmd() *cobra.Command {
	var group string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the catalog's policies",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			all, err := catalog.All()
			if err != nil {
				return err
			}
			if group != "" && !slices.Contains(catalog.Groups, group) {
				return fmt.Errorf("--group %q: want one of %s", group, strings.Join(catalog.Groups, ", "))
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tGROUP\tMODE\tTITLE")
			for _, e := range all {
				if group == "" || e.Group == group {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.Name, e.Group, e.Mode, e.Title)
				}
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&group, "group", "", "only this group: "+strings.Join(catalog.Groups, ", "))
	return cmd
}

func newCatalogShowCmd() *cobra.Command {
	var sets []string
	cmd := &cobra.Command{
		Use:   "show NAME",
		Short: "Describe a catalog policy, its parameters and the YAML it renders to",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := catalog.Lookup(args[0])
			if err != nil {
				return err
			}
			vals, err := parseSets(sets)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "%s: %s\n", e.Name, e.Title)
			fmt.Fprintf(w, "group: %s, mode: %s\n", e.Group, e.Mode)
			var labels []string
			for k, v := range e.Labels {
				labels = append(labels, k+"="+v)
			}
			sort.Strings(labels)
			fmt.Fprintf(w, "labels: %s\n\n%s\n\nparameters (--set NAME=VALUE):\n", strings.Join(labels, ", "), wrap(e.Description, 88))
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			for _, p := range e.Params {
				def := "(required)"
				if !p.Required {
					def = "default " + fmt.Sprintf("%q", p.Default)
				}
				fmt.Fprintf(tw, "  %s\t%s\t%s\n", p.Name, def, p.Description)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			for _, p := range e.Params {
				if _, ok := vals[p.Name]; !ok && p.Required {
					fmt.Fprintf(w, "\n(give --set %s=… to see the YAML)\n", p.Name)
					return nil
				}
			}
			out, err := e.Render(vals)
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "\n%s", out)
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&sets, "set", nil, "NAME=VALUE parameter (repeatable; VALUE @FILE reads a file)")
	return cmd
}

func newCatalogGetCmd() *cobra.Command {
	var (
		sets []string
		out  string
	)
	cmd := &cobra.Command{
		Use:   "get NAME…",
		Short: "Write catalog policies as YAML to apply (kubectl apply -f) or test (signet policy test)",
		Example: `  signet policy catalog get pss-privileged pss-host-namespaces > pss.yaml
  signet policy catalog get key-signed --set key=@cosign.pub --set images='ghcr.io/my-org/**'
  signet policy catalog get vuln-scan --set repository=my-org/app --set severities=CRITICAL,HIGH --out vuln.yaml`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			vals, err := parseSets(sets)
			if err != nil {
				return err
			}
			used := map[string]bool{}
			var b bytes.Buffer
			for i, name := range args {
				e, err := catalog.Lookup(name)
				if err != nil {
					return err
				}
				mine := map[string]string{}
				for _, p := range e.Params {
					if v, ok := vals[p.Name]; ok {
						mine[p.Name], used[p.Name] = v, true
					}
				}
				y, err := e.Render(mine)
				if err != nil {
					return err
				}
				if i > 0 {
					b.WriteString("---\n")
				}
				b.Write(y)
			}
			for k := range vals {
				if !used[k] {
					return fmt.Errorf("--set %s: none of %s has a parameter %q", k, strings.Join(args, ", "), k)
				}
			}
			if out == "" {
				_, err := cmd.OutOrStdout().Write(b.Bytes())
				return err
			}
			if err := os.WriteFile(out, b.Bytes(), 0o644); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s\n", out)
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&sets, "set", nil, "NAME=VALUE parameter (repeatable; VALUE @FILE reads a file)")
	cmd.Flags().StringVar(&out, "out", "", "write to this file instead of standard output")
	return cmd
}

// parseSets reads --set NAME=VALUE flags; VALUE @FILE is the file's
// contents.
func parseSets(sets []string) (map[string]string, error) {
	vals := map[string]string{}
	for _, s := range sets {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--set %q: want NAME=VALUE", s)
		}
		if _, dup := vals[k]; dup {
			return nil, fmt.Errorf("--set %s given twice", k)
		}
		if f, ok := strings.CutPrefix(v, "@"); ok {
			data, err := os.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("--set %s: %w", k, err)
			}
			v = string(data)
		}
		vals[k] = v
	}
	return vals, nil
}

// wrap breaks text into lines of at most width characters.
func wrap(text string, width int) string {
	var b strings.Builder
	n := 0
	for _, w := range strings.Fields(text) {
		if n > 0 && n+1+len(w) > width {
			b.WriteString("\n")
			n = 0
		} else if n > 0 {
			b.WriteString(" ")
			n++
		}
		b.WriteString(w)
		n += len(w)
	}
	return b.String()
}
