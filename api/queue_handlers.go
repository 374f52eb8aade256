package api

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/wa-gateway/wa-gateway/actors"
	"github.com/wa-gateway/wa-gateway/actors/pacing"
)

// The send queue: what waits and when it goes (GET /api/devices/{id}/queue),
// and cancelling a queued message (DELETE /api/messages/{id}).

type pauseDTO struct {
	Reason string   `json:"reason"`
	Until  nullTime `json:"until"`
}

// pacingStatusDTO is the pacer's state: pauses in force, the 24-hour
// counters against their limits (after the warm-up ramp), and the settings.
type pacingStatusDTO struct {
	Profile          string          `json:"profile"`
	Pauses           []pauseDTO      `json:"pauses"`
	NextSendAt       nullTime        `json:"nextSendAt"`
	LastSendAt       nullTime        `json:"lastSendAt"`
	Sent24h          int             `json:"sent24h"`
	DailyCap         int             `json:"dailyCap"`
	FirstContacts24h int             `json:"firstContacts24h"`
	FirstContactCap  int             `json:"firstContactCap"`
	WarmupDay        int             `json:"warmupDay"`
	Warming          bool            `json:"warming"`
	Settings         pacing.Settings `json:"settings"`
}

type queuedMessageDTO struct {
	Message    messageDTO `json:"message"`
	ExpectedAt nullTime   `json:"expectedAt"`
	Reason     *string    `json:"reason"`
	WillFail   bool       `json:"willFail"`
}

type queueDTO struct {
	DeviceID int64              `json:"deviceId"`
	Status   string             `json:"status"`
	Depth    int                `json:"depth"`
	Pacing   pacingStatusDTO    `json:"pacing"`
	Items    []queuedMessageDTO `json:"items"`
}

func newQueueDTO(v actors.QueueView) queueDTO {
	st := v.Pacing
	dto := queueDTO{
		DeviceID: v.DeviceID,
		Status:   v.Status,
		Depth:    v.Depth,
		Pacing: pacingStatusDTO{
			Profile:          string(st.Profile),
			Pauses:           make([]pauseDTO, len(st.Pauses)),
			NextSendAt:       nullTime(st.NextSendAt),
			LastSendAt:       nullTime(st.LastSendAt),
			Sent24h:          st.Sent24h,
			DailyCap:         st.DailyCap,
			FirstContacts24h: st.FirstContacts24h,
			FirstContactCap:  st.FirstContactCap,
			WarmupDay:        st.WarmupDay,
			Warming:          st.Warming,
			Settings:         v.Settings,
		},
		Items: make([]queuedMessageDTO, len(v.Items)),
	}
	for i, p := range st.Pauses {
		dto.Pacing.Pauses[i] = pauseDTO{Reason: string(p.Reason), Until: nullTime(p.Until)}
	}
	for i, it := range v.Items {
		dto.Items[i] = queuedMessageDTO{
			Message:    newMessageDTO(it.Message),
			ExpectedAt: nullTime(it.At),
			Reason:     nullString(it.Reason),
			WillFail:   it.Refused,
		}
	}
	return dto
}

// deviceQueue shows a device's queue, oldest first, with the time each
// message is expected to go and the pacer's state.
func (s *Server) deviceQueue(c *fiber.Ctx) error {
	d, err := s.deviceParam(c)
	if err != nil {
		return err
	}
	limit := actors.DefaultQueueView
	if raw := c.Query("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > actors.MaxQueueView {
			return validationError("limit", "limit must be an integer from 1 to "+strconv.Itoa(actors.MaxQueueView))
		}
		limit = n
	}
	v, err := s.gw.Queue(c.UserContext(), d.WorkspaceID, d.ID, limit)
	if err != nil {
		return err
	}
	return respond(c, fiber.StatusOK, newQueueDTO(v))
}

// cancelMessage cancels a queued message the caller can see: it is never
// sent and fails with the code "cancelled". A message already sent (or
// being sent, or failed) is 409 not_cancellable.
func (s *Server) cancelMessage(c *fiber.Ctx) error {
	p := principalOf(c)
	m, err := s.visibleMessage(c, p, c.Params("id"))
	if err != nil {
		return err
	}
	m, err = s.gw.CancelMessage(c.UserContext(), p.WorkspaceID, m.ID)
	if err != nil {
		return err
	}
	return respond(c, fiber.StatusOK, newMessageDTO(m))
}
