// Package snowflake is the unistore driver for Snowflake (Hybrid Tables
// first), on github.com/snowflakedb/gosnowflake v1.19. It is under
// construction: see issue 7.
package snowflake

import _ "github.com/snowflakedb/gosnowflake" // pinned in go.mod for the driver and the emulator's tests
