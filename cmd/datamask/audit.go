package main

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/datamask/datamask/tokenservice/audit"
)

const auditUsage = `usage: datamask audit verify [--head HASH] FILE

Check the audit trail that 'datamask serve' writes: every line must follow
from the one before it (each holds the SHA-256 of the line before), so that
a removed, edited, inserted or reordered line is found, and named. Prints
the number of lines and the trail's head: the hash of its last line. Lines
cut off the end leave a shorter chain that still verifies: give the head
recorded elsewhere (the service logs it at every start and stop as
"audit_head" and "head") with --head to catch that.

  --head HASH   the trail must end with the line whose hash is HASH

Exit status: 0 if the trail is intact, 1 if it is not (or cannot be read),
2 on bad usage.

Examples:
  datamask audit verify datamask-audit.jsonl
  datamask audit verify --head 3f1c...e2 /var/log/datamask/audit.jsonl
`

var hexHash = regexp.MustCompile(`^[0-9a-f]{64}$`)

func runAudit(e *env, args []string) error {
	if len(args) == 0 {
		return &cliError{msg: "audit: no command given", code: 2, usage: auditUsage}
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(e.stdout, auditUsage)
		return nil
	case "verify":
	default:
		return usageErrorf("audit: unknown command %q", args[0]).withHint("the command is 'datamask audit verify FILE'")
	}
	fs := newFlagSet("audit verify")
	head := fs.String("head", "", "")
	pos, err := parseArgs(e, fs, auditUsage, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		ue := usageErrorf("audit verify takes one FILE (%d given)", len(pos))
		ue.usage = auditUsage
		return ue
	}
	if *head != "" && !hexHash.MatchString(*head) {
		return usageErrorf("--head %q is not a SHA-256 in hex (64 digits 0-9a-f)", *head)
	}
	r, err := openInput(e, pos[0])
	if err != nil {
		return err
	}
	defer r.Close()
	s, err := audit.Verify(r, *head)
	if err != nil {
		var ce *audit.ChainError
		if errors.As(err, &ce) {
			return failure(fmt.Errorf("%s: %s", pos[0], err.Error()[len("audit: "):]),
				"the lines before it are intact; keep the file as evidence")
		}
		return failure(fmt.Errorf("%s: %s", pos[0], err.Error()[len("audit: "):]))
	}
	fmt.Fprintf(e.stdout, "ok: %d lines (%d events, %d keys), head %s\n", s.Lines, s.Events, s.Keys, s.Head)
	return nil
}
