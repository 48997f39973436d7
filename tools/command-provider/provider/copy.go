package provider

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/pkg/sftp"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

const copyToRemoteType = "command:remote:CopyToRemote"

// copyInputs are command:remote:CopyToRemote's inputs. The source must be a
// file or directory on this machine (FileAsset/FileArchive) or a text asset,
// as in the real provider; it is copied over SFTP as is (archives are not unpacked).
type copyInputs struct {
	Conn       connection
	RemotePath string
	SrcPath    string // local file or directory
	Text       *string
	Hash       string
}

func readCopy(m resource.PropertyMap) (copyInputs, []failure) {
	r := &reader{m: m}
	var in copyInputs
	if cv, ok := r.get("connection"); !ok {
		if _, present := m["connection"]; !present {
			r.fail("connection", "is required: give at least {host, user, privateKey or password}")
		}
	} else if !cv.IsObject() {
		r.fail("connection", "must be an object, got %s", cv.TypeString())
	} else {
		in.Conn = readConn(r, "connection", cv.ObjectValue(), true)
	}
	if p := r.str("remotePath"); p != nil && *p != "" {
		in.RemotePath = *p
	} else if v, present := m["remotePath"]; !present || !v.ContainsUnknowns() {
		r.fail("remotePath", "is required: give the destination path on the remote host")
	}
	sv, ok := r.get("source")
	switch {
	case !ok:
		if v, present := m["source"]; !present || !v.ContainsUnknowns() {
			r.fail("source", "is required: give a FileAsset, FileArchive (a path) or StringAsset")
		}
	case sv.IsAsset():
		a := sv.AssetValue()
		in.Hash = a.Hash
		switch {
		case a.IsPath():
			in.SrcPath = a.Path
		case a.IsText():
			t := a.Text
			in.Text = &t
		default:
			r.fail("source", "asset must be a path-based FileAsset or a StringAsset, not %q", a.URI)
		}
	case sv.IsArchive():
		a := sv.ArchiveValue()
		in.Hash = a.Hash
		if !a.IsPath() {
			r.fail("source", "archive must be a FileArchive of a local file or directory")
		}
		in.SrcPath = a.Path
	default:
		r.fail("source", "must be an asset or archive, got %s", sv.TypeString())
	}
	return in, r.failures
}

// copyToRemote uploads the source, following the real provider's rules:
// a file onto an existing directory lands inside it; a directory "d" lands as
// remotePath/d, "d/" has its contents copied into remotePath.
func copyToRemote(ctx context.Context, in copyInputs, warn notifier) error {
	client, closeAll, err := in.Conn.dial(ctx, warn)
	if err != nil {
		return err
	}
	defer closeAll()
	stop := context.AfterFunc(ctx, closeAll)
	defer stop()
	sc, err := sftp.NewClient(client)
	if err != nil {
		return fmt.Errorf("starting SFTP on %s (%w): add \"Subsystem sftp internal-sftp\" (or sftp-server) "+
			"to its sshd_config", in.Conn.endpoint(), err)
	}
	defer sc.Close()
	dest := in.RemotePath
	destInfo, err := remoteStat(sc, dest)
	if err != nil {
		return err
	}
	if in.Text != nil {
		if destInfo != nil && destInfo.IsDir() {
			return fmt.Errorf("remotePath %s is a directory: with a text asset give a file path", dest)
		}
		return writeRemote(sc, dest, strings.NewReader(*in.Text))
	}
	info, err := os.Stat(in.SrcPath)
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	if !info.IsDir() {
		if destInfo != nil && destInfo.IsDir() {
			dest = path.Join(dest, filepath.Base(in.SrcPath))
		}
		f, err := os.Open(in.SrcPath)
		if err != nil {
			return err
		}
		defer f.Close()
		return writeRemote(sc, dest, f)
	}
	if destInfo != nil && !destInfo.IsDir() {
		return fmt.Errorf("remotePath %s is a file: a directory source needs a directory", dest)
	}
	if !strings.HasSuffix(in.SrcPath, "/") {
		dest = path.Join(dest, filepath.Base(in.SrcPath))
	}
	return fs.WalkDir(os.DirFS(in.SrcPath), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := path.Join(dest, filepath.ToSlash(p))
		if !d.IsDir() {
			f, err := os.Open(filepath.Join(in.SrcPath, p))
			if err != nil {
				return err
			}
			defer f.Close()
			return writeRemote(sc, target, f)
		}
		ti, err := remoteStat(sc, target)
		switch {
		case err != nil:
			return err
		case ti == nil:
			if err := sc.Mkdir(target); err != nil {
				return fmt.Errorf("creating remote directory %s: %w", target, err)
			}
		case !ti.IsDir():
			return fmt.Errorf("remote path %s exists but is not a directory", target)
		}
		return nil
	})
}

func remoteStat(sc *sftp.Client, p string) (fs.FileInfo, error) {
	info, err := sc.Stat(p)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("stat of remote path %s: %w", p, err)
	}
	return info, nil
}

func writeRemote(sc *sftp.Client, dest string, src interface{ Read([]byte) (int, error) }) error {
	f, err := sc.Create(dest)
	if err != nil {
		return fmt.Errorf("creating remote file %s: %w", dest, err)
	}
	if _, err := f.ReadFrom(src); err != nil {
		_ = f.Close()
		return fmt.Errorf("writing remote file %s: %w", dest, err)
	}
	return f.Close()
}
