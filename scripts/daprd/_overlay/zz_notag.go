// Replacement for github.com/dapr/dapr/cmd/daprd/components/zz_notag.go,
// applied with `go build -overlay` by build.sh.
//
// app.Run's package imports cmd/daprd/components for its side effects. Built
// without the allcomponents/stablecomponents tags, every registration file in
// that package is excluded and zz_notag.go's init() panics to stop an empty
// daprd. taskmesh's main registers its own components, so the package is
// swapped for this empty one. The directory name starts with "_" so the go
// command never treats it as a package of this module.
package components
