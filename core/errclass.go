package core

// ErrorClass groups failed queries for counting. The set is fixed, so a loop
// counts errors in an array, never a map. Classes are stored and exchanged
// by name (String), never by number, so a class may be added anywhere.
type ErrorClass uint8

// Error classes. ErrNone means success.
const (
	ErrNone          ErrorClass = iota
	ErrConnection               // connection lost, refused, reset
	ErrTimeout                  // deadline exceeded, statement timeout, query canceled by the server
	ErrSerialization            // serialization failure, deadlock, lock not available
	ErrConstraint               // unique, foreign key, check, not-null violation
	ErrData                     // bad value: out of range, invalid text representation
	ErrSyntax                   // syntax error, undefined table or column, permission
	ErrResource                 // too many connections, out of memory, disk full
	ErrThrottled                // the service refused the request rate (HTTP 429/503, request quota)
	ErrOther                    // anything else
	NumErrorClasses
)

var errorClassNames = [NumErrorClasses]string{
	"none", "connection", "timeout", "serialization", "constraint", "data", "syntax", "resource", "throttled", "other",
}

// String returns the class's stable lowercase name, used as a JSON key and in stored rows.
func (c ErrorClass) String() string {
	if c < NumErrorClasses {
		return errorClassNames[c]
	}
	return "other"
}

// ParseErrorClass is the inverse of String; unknown names give ErrOther.
func ParseErrorClass(s string) ErrorClass {
	for i, n := range errorClassNames {
		if n == s {
			return ErrorClass(i)
		}
	}
	return ErrOther
}

// ErrorCounts counts errors by class.
type ErrorCounts [NumErrorClasses]int64

// Total sums every class but ErrNone.
func (e *ErrorCounts) Total() int64 {
	var n int64
	for i := ErrConnection; i < NumErrorClasses; i++ {
		n += e[i]
	}
	return n
}

// Map returns the non-zero classes by name, or nil if there are none.
func (e *ErrorCounts) Map() map[string]int64 {
	var m map[string]int64
	for i := ErrConnection; i < NumErrorClasses; i++ {
		if e[i] != 0 {
			if m == nil {
				m = make(map[string]int64)
			}
			m[i.String()] = e[i]
		}
	}
	return m
}
