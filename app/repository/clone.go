package repository

import (
	"encoding/json"

	"cadre/domain/object"
)

// clone deep-copies an object through its JSON form.
func clone(o object.Object) object.Object {
	c := object.New(o.Type())
	data, _ := json.Marshal(o)
	_ = json.Unmarshal(data, c)
	*c.ObjectMeta() = *o.ObjectMeta()
	return c
}
