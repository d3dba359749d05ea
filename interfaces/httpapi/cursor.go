package httpapi

import (
	"encoding/base64"
	"errors"
)

// errBadCursor answers an `after` that no page handed out.
var errBadCursor = errors.New("not a cursor this API handed out")

// encodeCursor makes a keyset position (the last key of a page) an opaque,
// URL-safe cursor, so clients pass it back instead of building their own.
func encodeCursor(key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(key))
}

// decodeCursor reads a cursor made by encodeCursor ("" is no cursor).
func decodeCursor(cursor string) (string, error) {
	if cursor == "" {
		return "", nil
	}
	key, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || len(key) == 0 {
		return "", errBadCursor
	}
	return string(key), nil
}
