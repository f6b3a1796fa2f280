package ppserver_test

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"powermail/impl/pp"
)

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

func (d *dialog) expect(prefix string) error {
	got, err := pp.ReadLine(d.r)
	if prefix == "<closed>" {
		if err == nil {
			return errorf("want closed connection, got %q", got)
		}
		if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrClosedPipe) {
			return errorf("want EOF, got %v", err)
		}
		return nil
	}
	if err != nil {
		return errorf("want %q, got error %v", prefix, err)
	}
	if !strings.HasPrefix(got, prefix) {
		return errorf("want %q..., got %q", prefix, got)
	}
	return nil
}

func (d *dialog) greeting() error {
	got, err := pp.ReadLine(d.r)
	if err != nil {
		return err
	}
	nonce, ok := strings.CutPrefix(got, "OK "+pp.Banner+" ")
	if !ok || pp.CheckNonce(nonce) != nil {
		return errorf("bad greeting %q", got)
	}
	d.snonce = nonce
	return nil
}

func (d *dialog) auth() error {
	cnonce := pp.NewNonce()
	proof := pp.ClientProof([]byte(testSecret), d.snonce, cnonce, "dialog")
	d.w.WriteString("AUTH dialog " + cnonce + " " + proof + "\r\n")
	d.w.Flush()
	got, err := pp.ReadLine(d.r)
	if err != nil {
		return err
	}
	if got != "OK "+pp.ServerProof([]byte(testSecret), d.snonce, cnonce, "dialog") {
		return errorf("server proof wrong: %q", got)
	}
	return nil
}

// checkClean waits for the session to end, then checks that the store holds
// nothing: no committed or prepared message, no upload left open.
func (d *dialog) checkClean() error {
	d.p.wg.Wait()
	boxed, prepared := d.st.visible()
	d.st.mu.Lock()
	open := d.st.uploading
	d.st.mu.Unlock()
	if boxed != 0 || prepared != 0 || open != 0 {
		return errorf("store not clean: %d boxed, %d prepared, %d uploads open", boxed, prepared, open)
	}
	return nil
}

func (d *dialog) checkCancelled(want string) error {
	d.p.wg.Wait()
	d.st.mu.Lock()
	got := d.st.cancelled
	d.st.mu.Unlock()
	if fmt.Sprint(got) != want {
		return errorf("%d uploads cancelled, want %s", got, want)
	}
	return nil
}
