package tui

import (
	"time"

	"github.com/ccproxy-tui/ccproxy-tui/auth"
	"github.com/ccproxy-tui/ccproxy-tui/proxy"
)

// opID tags an asynchronous operation: which provider it is for and which
// attempt. Results carry it back so a stale one can be recognised.
type opID struct {
	Provider string
	N        uint64
}

// fresh is the one rule for results that arrive after the user moved on: a
// result counts only when it belongs to the operation the model still waits
// for. Nothing in flight (zero want) means every result is stale.
func fresh(want, got opID) bool {
	return want.N != 0 && want == got
}

// The messages of the dashboard. Each names what happened.
type (
	statusesMsg struct {
		N    uint64
		List []auth.Status
	}
	authEventMsg  struct{ Event auth.Event }
	proxyEventMsg struct{ Event proxy.Event }
	// eventsClosedMsg says an event channel closed; it is not read again.
	eventsClosedMsg struct{ Proxy bool }
	tickMsg         struct {
		N   uint64
		Now time.Time
	}
	animMsg struct {
		N   uint64
		Now time.Time
	}
	refreshDoneMsg struct {
		Op  opID
		Err error
	}
	logoutDoneMsg struct {
		Op  opID
		Err error
	}
	switchDoneMsg struct {
		Row string // the row's key, "<provider>@<account>"
		Err error
	}
	browserStartedMsg struct {
		Op    opID
		Login BrowserLogin
		Err   error
	}
	browserOpenedMsg struct {
		Op     opID
		Opened bool
	}
	// openedMsg is the answer to the o key in a login dialog.
	openedMsg struct {
		Op     opID
		Opened bool
	}
	pasteStartedMsg struct {
		Op    opID
		Login PasteLogin
		Err   error
	}
	deviceCodeMsg struct {
		Op   opID
		Code auth.DeviceCode
	}
	loginDoneMsg struct {
		Op  opID
		Err error
	}
	proxyToggledMsg struct {
		Running bool
		URL     string
		Err     error
	}
	// clipboardMsg says what a copy did: Sent the OSC 52 sequence,
	// loaded tmux's buffer, or failed.
	clipboardMsg struct {
		What       string
		Sent, Tmux bool
		Err        error
	}
	quitReadyMsg struct{}
	// focusMsg tells every pane which one has the keyboard now.
	focusMsg struct{ ID paneID }
	// filterMsg is the text typed after /; panes show what matches.
	filterMsg struct{ Text string }
)
