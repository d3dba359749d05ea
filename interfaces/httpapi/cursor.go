package httpapi

import (
	"encoding/base64"
	"errors"
)

// errBadCursor answers an `after` that no page handed out.
var errBadCursor = errors.New("not a cursor this API handed out")

// EncodeCursor makes a keyset position (the last key of a page) an opaque,
// URL-safe cursor, so clients pass it back instead of building their own.
// The web UI's lists use the same cursors in their links.
func EncodeCursor(key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(key))
}

// DecodeCursor reads a cursor made by EncodeCursor ("" is no cursor).
func DecodeCursor(cursor string) (string, error) {
	if cursor == "" {
		return "", nil
	}
	key, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || len(key) == 0 {
		return "", errBadCursor
	}
	return string(key), nil
}
