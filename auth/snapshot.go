package auth

import (
	"strings"
	"time"
)

// Visible characters at each end of a masked token.
const (
	accessVisible  = 8
	refreshVisible = 4
)

// Snapshot is the part of Credentials that may be shown anywhere: on
// screen, in logs, in JSON. It holds no whole token.
type Snapshot struct {
	Provider            string
	AccessTokenPreview  string
	RefreshTokenPreview string
	ExpiresAt           time.Time
	Scopes              []string
	AccountID           string
	Email               string
	Plan                string
	ObtainedAt          time.Time
	LastRefresh         time.Time
	HasRefreshToken     bool
}

// Snapshot returns the masked view of c.
func (c Credentials) Snapshot() Snapshot {
	return Snapshot{
		Provider:            c.Provider,
		AccessTokenPreview:  MaskAccess(c.AccessToken),
		RefreshTokenPreview: MaskRefresh(c.RefreshToken),
		ExpiresAt:           c.ExpiresAt,
		Scopes:              append([]string(nil), c.Scopes...),
		AccountID:           c.AccountID,
		Email:               c.Email,
		Plan:                c.Plan,
		ObtainedAt:          c.ObtainedAt,
		LastRefresh:         c.LastRefresh,
		HasRefreshToken:     c.RefreshToken != "",
	}
}

// MaskAccess shows the first and last 8 characters of an access token.
func MaskAccess(tok string) string { return mask(tok, accessVisible) }

// MaskRefresh shows the first and last 4 characters of a refresh token.
func MaskRefresh(tok string) string { return mask(tok, refreshVisible) }

// mask keeps n characters at each end. A token no longer than 2n would be
// shown whole (or nearly), so it becomes stars of the same length instead.
func mask(tok string, n int) string {
	if tok == "" {
		return ""
	}
	if len(tok) <= 2*n {
		return strings.Repeat("*", len(tok))
	}
	return tok[:n] + "..." + tok[len(tok)-n:]
}
