package fake

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// signingKeyID names the one RS256 key in the JWKS.
const signingKeyID = "fake-key-1"

// signingKey is generated once per process: RSA key generation is slow, and
// every fake server may share a key since each is its own issuer.
var signingKey = sync.OnceValues(func() (*rsa.PrivateKey, error) {
	return rsa.GenerateKey(rand.Reader, 2048)
})

// idToken signs an OIDC id_token for clientID with the server's identity
// and extra claims.
func (s *OAuthServer) idToken(clientID, nonce string, now time.Time) (string, error) {
	key, err := signingKey()
	if err != nil {
		return "", err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", signingKeyID))
	if err != nil {
		return "", err
	}
	claims := map[string]any{}
	for k, v := range s.extraClaims {
		claims[k] = v
	}
	claims["iss"] = s.Issuer()
	claims["sub"] = s.subject
	claims["aud"] = clientID
	claims["iat"] = now.Unix()
	claims["exp"] = now.Add(time.Hour).Unix()
	claims["email"] = s.email
	claims["email_verified"] = true
	if nonce != "" {
		claims["nonce"] = nonce
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

func (s *OAuthServer) handleJWKS(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	s.counts.JWKS++
	s.mu.Unlock()
	key, err := signingKey()
	if err != nil {
		http.Error(w, "no key", http.StatusInternalServerError)
		return
	}
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
		Key: &key.PublicKey, KeyID: signingKeyID, Algorithm: string(jose.RS256), Use: "sig",
	}}})
}
