package store

import (
	"context"
	"testing"
)

// A realistic blob: three JWT-sized tokens and the v1 metadata.
var benchBlob = []byte(`{"version":1,"provider":"claude","access_token":"` + crashPad[:1200] +
	`","refresh_token":"` + crashPad[:600] + `","id_token":"` + crashPad[:1400] +
	`","token_type":"Bearer","expires_at":"2026-11-23T09:02:03Z","scopes":["user:inference","user:profile"],` +
	`"account_id":"acct_123","email":"dev@example.com","plan":"max","obtained_at":"2026-11-23T01:02:03Z",` +
	`"last_refresh":"2026-11-23T01:02:03Z","extra":{}}`)

func BenchmarkSave(b *testing.B) {
	s, err := NewFile(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(int64(len(benchBlob)))
	for b.Loop() {
		if err := s.Save(ctx, "claude", benchBlob); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoad(b *testing.B) {
	s, err := NewFile(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Save(ctx, "claude", benchBlob); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(benchBlob)))
	for b.Loop() {
		if _, err := s.Load(ctx, "claude"); err != nil {
			b.Fatal(err)
		}
	}
}
