package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/datamask/datamask"
)

const keygenUsage = `usage: datamask keygen [-o FILE]

Generate a local AES-256 key for 'datamask encrypt --aes-key' and
'datamask decrypt --aes-key': 32 random bytes, written as standard base64 and a
newline to FILE (created with mode 0600; an existing file is never
overwritten) or to standard output. encrypt and decrypt refuse a key file
that group or others may read, as ssh refuses such private keys.

Whoever can read the key can decrypt everything encrypted under it, and a
lost key decrypts nothing: keep it as a secret (a secrets manager, not the
repository). With AWS, prefer --kms-key, whose key never leaves AWS KMS.

Other AWS Encryption SDKs read the values with a raw AES keyring built from
the same key, key namespace "datamask" and key name "default" (or those given
to --key-namespace and --key-name).

  -o FILE   write the key to FILE instead of standard output ('-o -' is standard
            output)

Exit status: 0 on success, 1 on failure, 2 on bad usage.

Examples:
  datamask keygen -o datamask.key
  datamask keygen | aws secretsmanager create-secret --name datamask-key --secret-string file:///dev/stdin
`

func runKeygen(e *env, args []string) error {
	fs := newFlagSet("keygen")
	out := fs.String("o", "", "")
	pos, err := parseArgs(e, fs, keygenUsage, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		ue := usageErrorf("keygen takes no arguments: use -o FILE to write the key to a file")
		ue.usage = keygenUsage
		return ue
	}
	key, err := datamask.GenerateLocalKey()
	if err != nil {
		return failure(err)
	}
	defer clear(key)
	if *out == "" || *out == "-" {
		if _, err := e.stdout.Write(key); err != nil {
			return failure(fmt.Errorf("cannot write the key: %v", err))
		}
		return nil
	}
	return writeKeyFile(*out, key)
}

// writeKeyFile creates path with mode 0600 and writes key to it. It never
// replaces an existing file: a key it overwrote could no longer decrypt
// what it encrypted.
func writeKeyFile(path string, key []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return failure(fmt.Errorf("%s already exists: refusing to overwrite a key", path),
			"a replaced key can no longer decrypt what it encrypted; choose another -o FILE or remove the old key yourself")
	}
	if err != nil {
		return failure(fmt.Errorf("cannot create the key file: %v", err))
	}
	_, werr := f.Write(key)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(path)
		return failure(fmt.Errorf("cannot write the key file: %v", err))
	}
	return nil
}
