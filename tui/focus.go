package tui

import tea "github.com/charmbracelet/bubbletea"

// paneID names a pane of the main screen, for the focus and the layout.
type paneID int

const (
	paneTable paneID = iota
	paneDetail
	paneLog
	paneRequests
	paneQuota
)

// pane is the shape of every component of the main screen: Update returns
// the component's own type, so the root holds concrete values and never
// asserts a type.
type pane[T any] interface {
	Update(msg tea.Msg) (T, tea.Cmd)
	View() string
	SetSize(w, h int) T
}

// slot is how the root reaches one pane of its own: route a message to
// it, size it, draw it.
type slot struct {
	id     paneID
	title  string // over the pane when it has the full width
	short  string // beside the details on a wide screen
	update func(m *Model, msg tea.Msg) tea.Cmd
	view   func(m *Model) string
	size   func(m *Model, w, h int)
	// rows, when set, is how many lines the pane wants: it gets at most
	// that (and at most half the room), and none at all, rule included,
	// when it wants none. Panes without it share what is left.
	rows        func(m *Model) int
	height, wid int // the area layout gave it, rule excluded
}

// slotOf builds the slot of the pane that field points at.
func slotOf[T pane[T]](id paneID, title, short string, field func(*Model) *T) slot {
	return slot{
		id: id, title: title, short: short,
		update: func(m *Model, msg tea.Msg) tea.Cmd {
			p := field(m)
			var cmd tea.Cmd
			*p, cmd = (*p).Update(msg)
			return cmd
		},
		view: func(m *Model) string { return (*field(m)).View() },
		size: func(m *Model, w, h int) {
			p := field(m)
			*p = (*p).SetSize(w, h)
		},
	}
}

// stacked lists the panes under the table, top to bottom. They share the
// height left below the table (beside the details on a wide screen). A new
// pane is a file, a field of Model, and one line here. The requests view
// takes the activity log's place while it is shown (its own key); the
// quota meters stay above either.
func (m Model) stacked() []slot {
	if m.showRequests {
		return []slot{quotaSlot(), requestsSlot()}
	}
	return []slot{quotaSlot(), activitySlot()}
}

// allStacked is every stacked pane, shown or not: all of them hear the
// broadcast messages, so a hidden one is current when it shows.
func allStacked() []slot { return []slot{quotaSlot(), activitySlot(), requestsSlot()} }

// quotaSlot is the meters pane; it asks for one row per window, and takes
// no room at all while there is no quota to show.
func quotaSlot() slot {
	s := slotOf(paneQuota, "Quota · ◆ binds", "Quota", func(m *Model) *quotaModel { return &m.quota })
	s.rows = func(m *Model) int { return m.quota.Rows() }
	return s
}

func activitySlot() slot {
	return slotOf(paneLog, "Activity · newest first", "Activity", func(m *Model) *activityModel { return &m.activity })
}

func requestsSlot() slot {
	return slotOf(paneRequests, "Requests · newest first", "Requests", func(m *Model) *requestsModel { return &m.requests })
}

// lowerPane is the stacked pane on screen.
func (m Model) lowerPane() paneID {
	if m.showRequests {
		return paneRequests
	}
	return paneLog
}

// fixedSlots are the table and the details, which layout places itself.
func fixedSlots() []slot {
	return []slot{
		slotOf(paneTable, "", "", func(m *Model) *tableModel { return &m.table }),
		slotOf(paneDetail, "Details", "Details", func(m *Model) *detailModel { return &m.detail }),
	}
}

// slotFor finds the slot of id.
func slotFor(id paneID) (slot, bool) {
	for _, s := range append(fixedSlots(), allStacked()...) {
		if s.id == id {
			return s, true
		}
	}
	return slot{}, false
}

// focusable lists the panes that can take the keyboard now, in tab order:
// the table, the details when shown, then the stacked panes that have room.
func (m Model) focusable() []paneID {
	ids := []paneID{paneTable}
	if m.showDetail {
		ids = append(ids, paneDetail)
	}
	for _, s := range m.areas {
		if s.height > 0 {
			ids = append(ids, s.id)
		}
	}
	return ids
}

// cycleFocus moves the focus d panes along the tab order, wrapping.
func (m Model) cycleFocus(d int) Model {
	ids := m.focusable()
	at := 0
	for i, id := range ids {
		if id == m.focus {
			at = i
		}
	}
	return m.setFocus(ids[((at+d)%len(ids)+len(ids))%len(ids)])
}

// setFocus gives id the keyboard and tells the panes.
func (m Model) setFocus(id paneID) Model {
	m.focus = id
	m, _ = m.broadcast(focusMsg{ID: id})
	return m
}

// keepFocus moves the focus back to the table when its pane went away.
func (m Model) keepFocus() Model {
	for _, id := range m.focusable() {
		if id == m.focus {
			return m
		}
	}
	return m.setFocus(paneTable)
}

// toPane sends msg to one pane. Keys reach only the focused pane, which is
// what focus means; the table's cursor decides what the details show.
func (m Model) toPane(id paneID, msg tea.Msg) (Model, tea.Cmd) {
	s, ok := slotFor(id)
	if !ok {
		return m, nil
	}
	cmd := s.update(&m, msg)
	if id == paneTable {
		m = m.syncDetail()
	}
	return m, cmd
}

// broadcast hands a message that is not a key to every pane; each takes
// what it needs (a tick, an event) and ignores the rest.
func (m Model) broadcast(msg tea.Msg) (Model, tea.Cmd) {
	var cmds []tea.Cmd
	for _, s := range append(fixedSlots(), allStacked()...) {
		cmds = append(cmds, s.update(&m, msg))
	}
	m = m.syncDetail()
	return m, tea.Batch(cmds...)
}
