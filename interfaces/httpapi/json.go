package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/gin-gonic/gin"
)

// BindJSON decodes the body strictly (unknown fields are errors). On failure
// it writes 400 (or 413 for an oversized body) and returns false.
func BindJSON(c *gin.Context, v any) bool {
	body, ok := ReadBody(c)
	if !ok {
		return false
	}
	if err := DecodeStrict(body, v); err != nil {
		Abort(c, http.StatusBadRequest, "bad-json", err.Error())
		return false
	}
	return true
}

// ReadBody reads the whole body, answering 413 when it is over the limit and
// 422 when a JSON string in it holds a NUL character.
func ReadBody(c *gin.Context) ([]byte, bool) {
	body, err := io.ReadAll(c.Request.Body)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		Abort(c, http.StatusRequestEntityTooLarge, "too-large", "request body is larger than 1 MiB")
		return nil, false
	}
	if err != nil {
		Abort(c, http.StatusBadRequest, "bad-request", "read body: "+err.Error())
		return nil, false
	}
	if jsonHoldsNUL(body) {
		Abort(c, http.StatusUnprocessableEntity, "invalid", `a string in the body holds a NUL character (\u0000), which no field may contain`)
		return nil, false
	}
	return body, true
}

// DecodeStrict decodes one JSON value, rejecting unknown fields and trailing data.
func DecodeStrict(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return errors.New("request body is empty; a JSON object is expected")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("malformed JSON: %w", err)
	}
	if dec.More() {
		return errors.New("malformed JSON: trailing data after the object")
	}
	return nil
}
