package providers

import (
	"encoding/base64"
	"testing"
	"time"
)

// FuzzJWTClaims feeds arbitrary tokens to the unverified claim readers
// used for identity and expiry: they must never panic, and an expiry they
// return is a real time.
func FuzzJWTClaims(f *testing.F) {
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for _, s := range []string{
		"a.b.c", "", "...", enc(`{"alg":"none"}`) + "." + enc(`{"exp":1790000000,"email":"a@b"}`) + ".",
		"x." + enc(`{"exp":1e300}`) + ".y", "x." + enc(`{"exp":-5}`) + ".y", "x." + enc(`[1,2]`) + ".y",
		"x." + enc(`{"https://api.openai.com/auth":{"chatgpt_account_id":7}}`) + ".y", "x.%%%.y",
		"x." + enc(`{"https://api.openai.com/auth":"{\"chatgpt_account_id\":\"a\"}"}`) + ".y",
	} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, idToken, accessToken string) {
		if claims, err := jwtClaims(idToken); err == nil && claims == nil {
			t.Fatalf("no error and no claims for %q", idToken)
		}
		if exp := jwtExpiry(idToken); !exp.IsZero() && (exp.Before(time.Unix(0, 0)) || exp.Year() > 5138) {
			t.Fatalf("expiry %v from %q", exp, idToken)
		}
		_ = codexIdentityOf(idToken, accessToken)
	})
}
