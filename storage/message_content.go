package storage

// The content of messages other than text and media.

// Location is a point on the map, with an optional place name and address.
type Location struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	Name      string  `json:"name,omitempty"`
	Address   string  `json:"address,omitempty"`
}

// ContactCard is a shared contact: a display name and a vCard.
type ContactCard struct {
	DisplayName string `json:"displayName"`
	VCard       string `json:"vcard"`
}

// Poll is a question with options; SelectableCount is how many a voter
// may choose (0: any number).
type Poll struct {
	Name            string   `json:"name"`
	Options         []string `json:"options"`
	SelectableCount int      `json:"selectableCount"`
}
