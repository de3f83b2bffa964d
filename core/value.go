package core

import "time"

// Kind is the type of a Value.
type Kind uint8

// Value kinds.
const (
	KindNull Kind = iota
	KindInt
	KindFloat
	KindText
	KindBool
	KindTime
)

// Value is one bound parameter. It is a plain struct, not an interface, so a
// loop can generate parameters into a reused slice without allocating.
// Text may alias a generator's buffer: it is valid until that generator's
// next call on the same loop.
type Value struct {
	Kind  Kind
	Int   int64 // KindInt; KindBool (0 or 1)
	Float float64
	Text  []byte
	Time  time.Time
}

// Int returns an integer Value.
func Int(v int64) Value { return Value{Kind: KindInt, Int: v} }

// Text returns a text Value.
func Text(s string) Value { return Value{Kind: KindText, Text: []byte(s)} }

// Any returns v as a Go value for database/sql style drivers: nil, int64,
// float64, string, bool or time.Time (in UTC, as every driver binds times,
// so stored times compare and sort alike). It allocates for text.
func (v Value) Any() any {
	switch v.Kind {
	case KindInt:
		return v.Int
	case KindFloat:
		return v.Float
	case KindText:
		return string(v.Text)
	case KindBool:
		return v.Int != 0
	case KindTime:
		return v.Time.UTC()
	}
	return nil
}
