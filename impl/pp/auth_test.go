package pp

import "testing"

func TestProofs(t *testing.T) {
	secret := []byte("0123456789abcdef0123")
	sn, cn := NewNonce(), NewNonce()
	if CheckNonce(sn) != nil || sn == cn {
		t.Fatalf("nonces %q %q", sn, cn)
	}
	cp := ClientProof(secret, sn, cn, "smtp1")
	sp := ServerProof(secret, sn, cn, "smtp1")
	if cp == sp {
		t.Fatal("client and server proofs must differ, or a proof could be reflected")
	}
	if !ProofEqual(cp, ClientProof(secret, sn, cn, "smtp1")) {
		t.Fatal("proof not deterministic")
	}
	if ProofEqual(cp, ClientProof([]byte("another secret of 20"), sn, cn, "smtp1")) ||
		ProofEqual(cp, ClientProof(secret, sn, cn, "smtp2")) ||
		ProofEqual(cp, ClientProof(secret, cn, sn, "smtp1")) {
		t.Fatal("proof does not bind secret, name and nonces")
	}
}

func TestCheckNonceAndName(t *testing.T) {
	for _, bad := range []string{"", "00", NewNonce()[:63] + "G", "AB" + NewNonce()[2:]} {
		if CheckNonce(bad) == nil {
			t.Errorf("CheckNonce(%q) accepted", bad)
		}
	}
	for _, bad := range []string{"", "a|b", "a b", "../x/", string(make([]byte, 256))} {
		if CheckClientName(bad) == nil {
			t.Errorf("CheckClientName(%q) accepted", bad)
		}
	}
	if CheckClientName("smtp-1.example_net") != nil {
		t.Error("good name refused")
	}
}
