package auth

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"

	"golang.org/x/oauth2"
)

// stateBytes is the entropy of the state parameter: 256 bits, well above
// the 128 a guess would need to beat.
const stateBytes = 32

// authorization is one login attempt's secrets and the URL that starts it.
type authorization struct {
	verifier    string
	state       string
	redirectURL string
	url         string
}

// authorize prepares a PKCE S256 authorization for redirectURL with a fresh
// state, the provider's scopes and its extra authorize parameters.
func (c *Config) authorize(redirectURL string) (authorization, error) {
	if err := checkURL("authorize URL", c.AuthURL); err != nil {
		return authorization{}, err
	}
	state, err := newState()
	if err != nil {
		return authorization{}, err
	}
	verifier := oauth2.GenerateVerifier()
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}
	for k, v := range c.AuthParams {
		opts = append(opts, oauth2.SetAuthURLParam(k, v))
	}
	return authorization{
		verifier:    verifier,
		state:       state,
		redirectURL: redirectURL,
		url:         c.oauth2Config(redirectURL).AuthCodeURL(state, opts...),
	}, nil
}

// newState returns stateBytes of crypto randomness, base64url-encoded.
func newState() (string, error) {
	b := make([]byte, stateBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random state: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
