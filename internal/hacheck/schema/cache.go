package schema

import (
	"crypto/sha256"
	"fmt"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/xeipuuv/gojsonschema"
)

// compiled is one schema, decoded once and compiled for each library on
// first use. All of it is read-only once built and safe to share between
// goroutines. Each library compiles on its own, so a schema only one of
// them reads still validates with that one.
type compiled struct {
	raw []byte
	doc *document

	santhoshOnce sync.Once
	santhosh     *jsonschema.Schema
	santhoshErr  error

	gojsonOnce sync.Once
	gojson     *gojsonschema.Schema
	gojsonErr  error
}

// maxCached bounds the cache; a process validates against a handful of
// schemas, so forgetting them all when it fills is good enough.
const maxCached = 16

var cache = struct {
	sync.Mutex
	m map[[sha256.Size]byte]*compiled
}{m: map[[sha256.Size]byte]*compiled{}}

// compile decodes schemaJSON, or returns the result of an earlier call with
// the same bytes.
func compile(schemaJSON []byte) (*compiled, error) {
	sum := sha256.Sum256(schemaJSON)
	cache.Lock()
	defer cache.Unlock()
	if c, ok := cache.m[sum]; ok {
		return c, nil
	}
	doc, err := parseDocument(schemaJSON)
	if err != nil {
		return nil, err
	}
	if len(cache.m) >= maxCached {
		clear(cache.m)
	}
	c := &compiled{raw: append([]byte(nil), schemaJSON...), doc: doc}
	cache.m[sum] = c
	return c, nil
}

// santhoshSchema returns the schema compiled by santhosh-tekuri/jsonschema.
func (c *compiled) santhoshSchema() (*jsonschema.Schema, error) {
	c.santhoshOnce.Do(func() {
		c.santhosh, c.santhoshErr = compileSanthosh(c.raw)
	})
	return c.santhosh, c.santhoshErr
}

// gojsonschemaSchema returns the schema compiled by gojsonschema.
func (c *compiled) gojsonschemaSchema() (*gojsonschema.Schema, error) {
	c.gojsonOnce.Do(func() {
		c.gojson, c.gojsonErr = gojsonschema.NewSchema(gojsonschema.NewBytesLoader(c.raw))
		if c.gojsonErr != nil {
			c.gojsonErr = fmt.Errorf("compile schema with gojsonschema: %w", c.gojsonErr)
		}
	})
	return c.gojson, c.gojsonErr
}
