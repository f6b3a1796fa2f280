package mail

import (
	"errors"
	"fmt"
	"testing"
)

// A reply crosses package lines as an error, possibly wrapped; whoever
// writes it to the sender finds it with errors.As and sends its String.
func TestReply(t *testing.T) {
	for _, c := range []struct {
		r    Reply
		want string
		temp bool
	}{
		{Reply{Code: 451, Enhanced: "4.3.0", Text: "try again later"}, "451 4.3.0 try again later", true},
		{Reply{Code: 552, Enhanced: "5.2.2", Text: "mailbox full"}, "552 5.2.2 mailbox full", false},
		{Reply{Code: 220, Text: "ready"}, "220 ready", false},
	} {
		err := fmt.Errorf("delivery: %w", &c.r)
		var r *Reply
		if !errors.As(err, &r) || r.String() != c.want || r.Error() != c.want || r.Temporary() != c.temp {
			t.Errorf("%+v: got %q temporary %v", c.r, r, r.Temporary())
		}
	}
}
