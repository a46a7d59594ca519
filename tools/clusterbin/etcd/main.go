// Command etcd is etcd's own entry point (go.etcd.io/etcd/v3's main.go),
// compiled here against the pinned go.etcd.io/etcd/server/v3.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
