package provider

import (
	"fmt"
	"sort"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"google.golang.org/protobuf/types/known/structpb"
)

// The engine sends secrets and unknowns as wrapped values; we keep both so that
// what comes back keeps the caller's secretness.
func unmarshal(s *structpb.Struct, label string) (resource.PropertyMap, error) {
	if s == nil {
		return resource.PropertyMap{}, nil
	}
	return plugin.UnmarshalProperties(s, plugin.MarshalOptions{
		Label: label, KeepUnknowns: true, KeepSecrets: true, SkipNulls: true,
	})
}

func marshal(m resource.PropertyMap, label string) (*structpb.Struct, error) {
	return plugin.MarshalProperties(m, plugin.MarshalOptions{
		Label: label, KeepUnknowns: true, KeepSecrets: true, SkipNulls: true,
	})
}

// plain strips secret wrappers (recursively) so values can be read and compared.
func plain(v resource.PropertyValue) resource.PropertyValue {
	switch {
	case v.IsSecret():
		return plain(v.SecretValue().Element)
	case v.IsObject():
		out := resource.PropertyMap{}
		for k, e := range v.ObjectValue() {
			out[k] = plain(e)
		}
		return resource.NewObjectProperty(out)
	case v.IsArray():
		arr := v.ArrayValue()
		out := make([]resource.PropertyValue, len(arr))
		for i, e := range arr {
			out[i] = plain(e)
		}
		return resource.NewArrayProperty(out)
	}
	return v
}

// mapInside applies f to the map held by v, looking through a secret wrapper
// and keeping it.
func mapInside(v resource.PropertyValue, f func(resource.PropertyMap)) resource.PropertyValue {
	if v.IsSecret() {
		return resource.MakeSecret(mapInside(v.SecretValue().Element, f))
	}
	if v.IsObject() {
		m := v.ObjectValue().Copy()
		f(m)
		return resource.NewObjectProperty(m)
	}
	return v
}

// reader reads typed fields out of a property map and collects the failures,
// each naming the property path, the bad value's type and what is expected.
type reader struct {
	prefix   string
	m        resource.PropertyMap
	failures []failure
}

type failure struct{ path, reason string }

func (r *reader) path(k string) string {
	if r.prefix == "" {
		return k
	}
	return r.prefix + "." + k
}

func (r *reader) fail(k, format string, args ...any) {
	r.failures = append(r.failures, failure{r.path(k), fmt.Sprintf(format, args...)})
}

// get returns the plain value of k; ok is false when it is absent, null or unknown.
func (r *reader) get(k string) (resource.PropertyValue, bool) {
	v, has := r.m[resource.PropertyKey(k)]
	if !has {
		return v, false
	}
	v = plain(v)
	if v.IsNull() || v.IsComputed() || v.ContainsUnknowns() {
		return v, false
	}
	return v, true
}

func (r *reader) str(k string) *string {
	v, ok := r.get(k)
	if !ok {
		return nil
	}
	if !v.IsString() {
		r.fail(k, "must be a string, got %s", v.TypeString())
		return nil
	}
	s := v.StringValue()
	return &s
}

func (r *reader) num(k string, def int) int {
	v, ok := r.get(k)
	if !ok {
		return def
	}
	if !v.IsNumber() || v.NumberValue() != float64(int(v.NumberValue())) {
		r.fail(k, "must be a whole number, got %s", v.String())
		return def
	}
	return int(v.NumberValue())
}

func (r *reader) boolean(k string, def bool) bool {
	v, ok := r.get(k)
	if !ok {
		return def
	}
	if !v.IsBool() {
		r.fail(k, "must be true or false, got %s", v.TypeString())
		return def
	}
	return v.BoolValue()
}

func (r *reader) strMap(k string) map[string]string {
	v, ok := r.get(k)
	if !ok {
		return nil
	}
	if !v.IsObject() {
		r.fail(k, "must be a map of strings, got %s", v.TypeString())
		return nil
	}
	out := map[string]string{}
	for ek, ev := range v.ObjectValue() {
		if !ev.IsString() {
			r.fail(k+"."+string(ek), "must be a string, got %s", ev.TypeString())
			continue
		}
		out[string(ek)] = ev.StringValue()
	}
	return out
}

func (r *reader) strList(k string) []string {
	v, ok := r.get(k)
	if !ok {
		return nil
	}
	if !v.IsArray() {
		r.fail(k, "must be a list of strings, got %s", v.TypeString())
		return nil
	}
	var out []string
	for i, e := range v.ArrayValue() {
		if !e.IsString() {
			r.fail(fmt.Sprintf("%s[%d]", k, i), "must be a string, got %s", e.TypeString())
			continue
		}
		out = append(out, e.StringValue())
	}
	return out
}

// isSecret tells whether the top-level input k was marked secret by the caller.
func isSecret(m resource.PropertyMap, k string) bool {
	v, ok := m[resource.PropertyKey(k)]
	return ok && v.ContainsSecrets()
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
