// compose-check loads a Compose file with compose-go, the loader `docker compose` itself
// uses: it validates against the Compose Specification schema, interpolates variables,
// resolves merge keys and checks references between services (depends_on, networks,
// volumes). Used by scripts/validate-deploy.sh where no `docker compose` plugin exists.
//
//	compose-check FILE
//
// Exit 0 with a one-line summary when the file loads; 1 with compose-go's error if not.
package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: compose-check FILE")
		os.Exit(2)
	}
	opts, err := cli.NewProjectOptions([]string{os.Args[1]}, cli.WithOsEnv, cli.WithDotEnv, cli.WithName("compose-check"))
	if err != nil {
		fail(err)
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		fail(err)
	}
	names := project.ServiceNames()
	sort.Strings(names)
	fmt.Printf("%d services: %s\n", len(names), strings.Join(names, ", "))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
