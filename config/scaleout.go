package config

// Store says where access data lives.
type Store struct {
	// Driver is sqlite (the data directory, the default) or postgres.
	Driver string
	// DSNEnv names the environment variable holding the PostgreSQL DSN;
	// DSN is its value, read when the configuration is loaded.
	DSNEnv string
	DSN    string
}

// Redis configures the shared rate limiter.
type Redis struct {
	Addr     string // host:port; empty: limits are kept in each process
	Password string
	DB       int
	// OnError is fail_closed (refuse with 503 while Redis cannot answer,
	// the default) or fail_open (limit in each process meanwhile).
	OnError string
}

// Redis failure modes.
const (
	RedisFailClosed = "fail_closed"
	RedisFailOpen   = "fail_open"
)

type storeFile struct {
	Driver string `yaml:"driver"`
	DSNEnv string `yaml:"dsn_env"`
}

type redisFile struct {
	Addr        string `yaml:"addr"`
	AddrEnv     string `yaml:"addr_env"`
	PasswordEnv string `yaml:"password_env"`
	DB          int    `yaml:"db"`
	OnError     string `yaml:"on_error"`
}

func (v *validator) buildScaleOut(f *file, c *Config) {
	c.Store = Store{Driver: "sqlite"}
	if s := f.Store; s != nil {
		switch s.Driver {
		case "", "sqlite":
			if s.DSNEnv != "" {
				v.fail("store.dsn_env", "is for the postgres driver")
			}
		case "postgres":
			c.Store = Store{Driver: "postgres", DSNEnv: s.DSNEnv}
			if s.DSNEnv == "" {
				v.fail("store.dsn_env", "must name the environment variable holding the PostgreSQL DSN")
			} else {
				c.Store.DSN = v.env("store.dsn_env", s.DSNEnv)
			}
		default:
			v.fail("store.driver", "must be sqlite or postgres, got %q", s.Driver)
		}
	}
	r := f.Redis
	if r == nil {
		return
	}
	c.Redis = Redis{Addr: r.Addr, DB: r.DB, OnError: r.OnError}
	if r.AddrEnv != "" {
		if r.Addr != "" {
			v.fail("redis.addr_env", "set addr or addr_env, not both")
		}
		c.Redis.Addr = v.env("redis.addr_env", r.AddrEnv)
	}
	if c.Redis.Addr == "" && r.AddrEnv == "" {
		v.fail("redis.addr", "must be host:port (or set addr_env)")
	}
	if r.PasswordEnv != "" {
		c.Redis.Password = v.env("redis.password_env", r.PasswordEnv)
	}
	switch r.OnError {
	case "":
		c.Redis.OnError = RedisFailClosed
	case RedisFailClosed, RedisFailOpen:
	default:
		v.fail("redis.on_error", "must be fail_closed or fail_open, got %q", r.OnError)
	}
}
