package provider

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"golang.org/x/crypto/ssh"
)

const (
	remoteCommandType = "command:remote:Command"
	localCommandType  = "command:local:Command"
)

// Input property names per resource type, as in @pulumi/command 1.2.1.
var inputKeys = map[string][]string{
	remoteCommandType: {"addPreviousOutputInEnv", "connection", "create", "delete", "environment",
		"logging", "stdin", "triggers", "update"},
	localCommandType: {"addPreviousOutputInEnv", "create", "delete", "dir", "environment",
		"interpreter", "logging", "stdin", "triggers", "update"},
	copyToRemoteType: {"connection", "remotePath", "source", "triggers"},
}

// Inputs of the real local:Command that this stand-in does not implement.
var unsupportedLocal = []string{"assetPaths", "archivePaths"}

var loggingModes = []string{"stdout", "stderr", "stdoutAndStderr", "none"}

// commonInputs are the inputs shared by local and remote commands.
type commonInputs struct {
	Create, Update, Delete *string
	Stdin                  *string
	Environment            map[string]string
	AddPreviousOutputInEnv bool
	Logging                string
	// commandSecret is true when create/update/delete was given as a secret:
	// then the command text is kept out of error messages.
	commandSecret bool
}

type connection struct {
	Host               string
	Port               int
	User               string
	Password           *string
	PrivateKey         *string
	PrivateKeyPassword *string
	AgentSocketPath    *string
	HostKey            *string
	DialErrorLimit     int
	PerDialTimeout     int
	Proxy              *connection
}

type remoteInputs struct {
	commonInputs
	Conn connection
}

type localInputs struct {
	commonInputs
	Dir         *string
	Interpreter []string
}

// applyDefaults fills the defaults that the real provider's Check fills, so
// that state and diffs look the same.
func applyDefaults(typ string, m resource.PropertyMap) {
	if _, ok := m["addPreviousOutputInEnv"]; !ok && typ != copyToRemoteType {
		m["addPreviousOutputInEnv"] = resource.NewBoolProperty(true)
	}
	if typ == localCommandType {
		return
	}
	if c, ok := m["connection"]; ok {
		m["connection"] = mapInside(c, func(cm resource.PropertyMap) {
			connDefaults(cm)
			if p, ok := cm["proxy"]; ok {
				cm["proxy"] = mapInside(p, connDefaults)
			}
		})
	}
}

func connDefaults(m resource.PropertyMap) {
	defs := map[resource.PropertyKey]resource.PropertyValue{
		"port":           resource.NewNumberProperty(22),
		"user":           resource.NewStringProperty("root"),
		"dialErrorLimit": resource.NewNumberProperty(10),
		"perDialTimeout": resource.NewNumberProperty(15),
	}
	for k, v := range defs {
		if cur, ok := m[k]; !ok || cur.IsNull() {
			m[k] = v
		}
	}
}

func readCommon(r *reader, m resource.PropertyMap) commonInputs {
	c := commonInputs{
		Create:                 r.str("create"),
		Update:                 r.str("update"),
		Delete:                 r.str("delete"),
		Stdin:                  r.str("stdin"),
		Environment:            r.strMap("environment"),
		AddPreviousOutputInEnv: r.boolean("addPreviousOutputInEnv", true),
		commandSecret:          isSecret(m, "create") || isSecret(m, "update") || isSecret(m, "delete"),
	}
	if l := r.str("logging"); l != nil {
		if !contains(loggingModes, *l) {
			r.fail("logging", "unknown mode %q: use one of %s", *l, strings.Join(loggingModes, ", "))
		}
		c.Logging = *l
	}
	if _, ok := r.m["triggers"]; ok {
		if v, known := r.get("triggers"); known && !v.IsArray() {
			r.fail("triggers", "must be a list, got %s", v.TypeString())
		}
	}
	return c
}

func readRemote(m resource.PropertyMap) (remoteInputs, []failure) {
	r := &reader{m: m}
	in := remoteInputs{commonInputs: readCommon(r, m)}
	cv, ok := m["connection"]
	switch {
	case !ok || plain(cv).IsNull():
		r.fail("connection", "is required: give at least {host, user, privateKey or password}")
	case plain(cv).ContainsUnknowns():
		// Not known until apply; Create/Update see the real value.
	case !plain(cv).IsObject():
		r.fail("connection", "must be an object, got %s", plain(cv).TypeString())
	default:
		in.Conn = readConn(r, "connection", plain(cv).ObjectValue(), true)
	}
	return in, r.failures
}

func readConn(parent *reader, path string, m resource.PropertyMap, allowProxy bool) connection {
	r := &reader{prefix: path, m: m}
	c := connection{
		User:               "root",
		Password:           r.str("password"),
		PrivateKey:         r.str("privateKey"),
		PrivateKeyPassword: r.str("privateKeyPassword"),
		AgentSocketPath:    r.str("agentSocketPath"),
		HostKey:            r.str("hostKey"),
		Port:               r.num("port", 22),
		DialErrorLimit:     r.num("dialErrorLimit", 10),
		PerDialTimeout:     r.num("perDialTimeout", 15),
	}
	if u := r.str("user"); u != nil {
		c.User = *u
	}
	if h := r.str("host"); h != nil && *h != "" {
		c.Host = *h
	} else if v, present := r.m["host"]; !present || !plain(v).ContainsUnknowns() {
		r.fail("host", "is required: give the SSH server's address, e.g. \"10.200.0.11\"")
	}
	if c.Port < 1 || c.Port > 65535 {
		r.fail("port", "%d is not a TCP port: use 1-65535 (default 22)", c.Port)
	}
	if c.DialErrorLimit < -1 {
		r.fail("dialErrorLimit", "%d is invalid: use -1 (unlimited) or a count >= 0 (default 10)", c.DialErrorLimit)
	}
	if c.PerDialTimeout < 0 {
		r.fail("perDialTimeout", "%d is invalid: use seconds >= 0, 0 for no limit (default 15)", c.PerDialTimeout)
	}
	if c.HostKey != nil {
		if _, err := parseHostKey(*c.HostKey); err != nil {
			r.fail("hostKey", "%v", err)
		}
	}
	if c.PrivateKey != nil {
		if err := checkPrivateKey(*c.PrivateKey, c.PrivateKeyPassword); err != nil {
			r.fail("privateKey", "%v", err)
		}
	}
	if pv, ok := r.get("proxy"); ok {
		if !allowProxy {
			r.fail("proxy", "a proxy cannot itself have a proxy")
		} else if !pv.IsObject() {
			r.fail("proxy", "must be an object, got %s", pv.TypeString())
		} else {
			p := readConn(r, "proxy", pv.ObjectValue(), false)
			c.Proxy = &p
		}
	}
	parent.failures = append(parent.failures, r.failures...)
	return c
}

// parseHostKey accepts an authorized_keys style line ("ssh-ed25519 AAAA... comment")
// or a known_hosts line ("host ssh-ed25519 AAAA...").
func parseHostKey(s string) (ssh.PublicKey, error) {
	if k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(s)); err == nil {
		return k, nil
	}
	if _, _, k, _, _, err := ssh.ParseKnownHosts([]byte(s)); err == nil {
		return k, nil
	}
	return nil, fmt.Errorf("cannot parse %q as an SSH public key: give it as \"ssh-ed25519 AAAA...\" "+
		"(the server's /etc/ssh/ssh_host_*_key.pub or `ssh-keyscan` output)", s)
}

// checkPrivateKey parses the key once at Check time so a bad key fails early,
// without ever echoing the key.
func checkPrivateKey(key string, pass *string) error {
	var err error
	if pass != nil {
		_, err = ssh.ParsePrivateKeyWithPassphrase([]byte(key), []byte(*pass))
	} else {
		_, err = ssh.ParsePrivateKey([]byte(key))
	}
	if err == nil {
		return nil
	}
	if _, ok := err.(*ssh.PassphraseMissingError); ok {
		return fmt.Errorf("the key is encrypted: also set connection.privateKeyPassword")
	}
	return fmt.Errorf("cannot parse the private key (%v): give the PEM/OpenSSH text of the key, "+
		"not a path to it", err)
}

func readLocal(m resource.PropertyMap) (localInputs, []failure) {
	r := &reader{m: m}
	in := localInputs{commonInputs: readCommon(r, m), Dir: r.str("dir"), Interpreter: r.strList("interpreter")}
	for _, k := range unsupportedLocal {
		if _, ok := m[resource.PropertyKey(k)]; ok {
			r.fail(k, "is not implemented by the lab's stand-in command provider: "+
				"collect files with a separate step instead")
		}
	}
	if v, ok := r.get("interpreter"); ok && v.IsArray() && len(v.ArrayValue()) == 0 {
		r.fail("interpreter", "is empty: leave it out for /bin/sh -c, or give e.g. [\"/bin/bash\", \"-c\"]")
	}
	return in, r.failures
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}
