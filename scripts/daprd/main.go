// Command daprd is taskmesh's trimmed build of the Dapr sidecar runtime.
//
// It links the stock runtime (github.com/dapr/dapr/cmd/daprd/app) but
// registers only the components taskmesh uses, instead of dapr's
// "stablecomponents"/"allcomponents" sets (which pull in every cloud SDK).
// Build it with ./build.sh, which pins the dapr version and supplies the
// -overlay that neutralises dapr's "no build tag" guard (see _overlay/).
package main

import (
	// Components (all from github.com/dapr/components-contrib, at the version
	// that github.com/dapr/dapr requires).
	"github.com/dapr/components-contrib/bindings/cron"
	nrkubernetes "github.com/dapr/components-contrib/nameresolution/kubernetes"
	"github.com/dapr/components-contrib/nameresolution/mdns"
	nrsqlite "github.com/dapr/components-contrib/nameresolution/sqlite"
	"github.com/dapr/components-contrib/pubsub/kafka"
	sskubernetes "github.com/dapr/components-contrib/secretstores/kubernetes"
	"github.com/dapr/components-contrib/secretstores/local/env"
	"github.com/dapr/components-contrib/secretstores/local/file"
	pgv1 "github.com/dapr/components-contrib/state/postgresql/v1"
	pgv2 "github.com/dapr/components-contrib/state/postgresql/v2"

	// dapr's registries and entry point.
	"github.com/dapr/dapr/cmd/daprd/app"
	"github.com/dapr/dapr/pkg/components"
	bindingsLoader "github.com/dapr/dapr/pkg/components/bindings"
	nrLoader "github.com/dapr/dapr/pkg/components/nameresolution"
	pubsubLoader "github.com/dapr/dapr/pkg/components/pubsub"
	secretstoresLoader "github.com/dapr/dapr/pkg/components/secretstores"
	stateLoader "github.com/dapr/dapr/pkg/components/state"
)

func registerComponents() {
	// pubsub.kafka
	pubsubLoader.DefaultRegistry.RegisterComponent(kafka.NewKafka, "kafka")

	// state.postgresql: same version semantics as upstream daprd, so one
	// component YAML behaves identically here and under the official image:
	// v2 is the preferred implementation, but a component that omits
	// `version` gets v1. taskmesh's YAML must say `version: v2`.
	stateLoader.DefaultRegistry.RegisterComponentWithVersions("postgresql", components.Versioning{
		Preferred: components.VersionConstructor{Version: "v2", Constructor: pgv2.NewPostgreSQLStateStore},
		Others:    []components.VersionConstructor{{Version: "v1", Constructor: pgv1.NewPostgreSQLStateStore}},
		Default:   "v1",
	})

	// bindings.cron (input binding only, as upstream)
	bindingsLoader.DefaultRegistry.RegisterInputBinding(cron.NewCron, "cron")

	// secret stores
	secretstoresLoader.DefaultRegistry.RegisterComponent(env.NewEnvSecretStore, "local.env")
	secretstoresLoader.DefaultRegistry.RegisterComponent(file.NewLocalSecretStore, "local.file")
	secretstoresLoader.DefaultRegistry.RegisterComponent(sskubernetes.NewKubernetesSecretStore, "kubernetes")

	// name resolution: sqlite for one machine without multicast, kubernetes
	// for the cluster, mdns because it is daprd's standalone default.
	nrLoader.DefaultRegistry.RegisterComponent(nrsqlite.NewResolver, "sqlite")
	nrLoader.DefaultRegistry.RegisterComponent(nrkubernetes.NewResolver, "kubernetes")
	nrLoader.DefaultRegistry.RegisterComponent(mdns.NewResolver, "mdns")
}

func main() {
	registerComponents()
	app.Run()
}
