package apiauth

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	apiserverconfig "k8s.io/apiserver/pkg/apis/apiserver"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/authenticatorfactory"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/authorization/authorizerfactory"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// The cache TTLs and the review timeout are k8s.io/apiserver's defaults
// for a delegating server (pkg/server/options: DelegatingAuthentication-
// and DelegatingAuthorizationOptions), the ones metrics-server and the
// future Primus generic API server start with:
//
//   - A token's answer, accepted or rejected, is kept 10 s. A token is
//     bound to its Pod or Secret, and a deleted ServiceAccount's token
//     must stop working quickly; 10 s already turns one TokenReview per
//     request into one per token per 10 s per replica.
//   - An allowed decision is kept 10 s, not the kube-apiserver webhook's
//     5 min (--authorization-webhook-cache-authorized-ttl) nor
//     controller-runtime's metrics filter's 5 min: a revoked RoleBinding
//     is honoured within the allow TTL, and the API grants writes that
//     create namespaces and RoleBindings. At 100 requests/s from one
//     caller, 10 s already saves 99.9 % of the SubjectAccessReviews;
//     5 min would save a further 0.1 % and keep a revoked user writing
//     for 5 min.
//   - A denied decision is kept 10 s (the kube-apiserver webhook: 30 s):
//     a user just granted access waits at most that long, and a caller
//     retrying a denied request costs one review per 10 s.
const (
	// DefaultTokenCacheTTL is how long a TokenReview's answer is cached.
	DefaultTokenCacheTTL = 10 * time.Second
	// DefaultAllowCacheTTL is how long an allowed SubjectAccessReview is
	// cached: a revoked permission is honoured after at most this long.
	DefaultAllowCacheTTL = 10 * time.Second
	// DefaultDenyCacheTTL is how long a denied SubjectAccessReview is
	// cached: a new permission is honoured after at most this long.
	DefaultDenyCacheTTL = 10 * time.Second
	// DefaultReviewTimeout bounds one TokenReview or SubjectAccessReview
	// request (k8s.io/apiserver's ClientTimeout and TokenRequestTimeout).
	DefaultReviewTimeout = 10 * time.Second
)

// Options configures the authenticator and authorizer. The zero value is
// k8s.io/apiserver's delegating defaults.
type Options struct {
	// TokenCacheTTL is how long a token's answer (accepted or rejected)
	// is cached; zero means DefaultTokenCacheTTL. Errors are not cached.
	TokenCacheTTL time.Duration
	// AllowCacheTTL and DenyCacheTTL are how long an allowed and a denied
	// decision are cached; zero means DefaultAllowCacheTTL and
	// DefaultDenyCacheTTL. Errors are not cached.
	AllowCacheTTL, DenyCacheTTL time.Duration
	// Audiences, when set, are the audiences a token must be issued for.
	// Empty, as Primus runs today, means the API server's own audiences
	// (a TokenReview without spec.audiences).
	Audiences authenticator.Audiences
	// Backoff retries a review that failed (5xx, 429, connection error);
	// nil means k8s.io/apiserver's DefaultAuthWebhookRetryBackoff (0.5 s,
	// x1.5, 5 attempts).
	Backoff *wait.Backoff
}

func (o Options) withDefaults() Options {
	if o.TokenCacheTTL <= 0 {
		o.TokenCacheTTL = DefaultTokenCacheTTL
	}
	if o.AllowCacheTTL <= 0 {
		o.AllowCacheTTL = DefaultAllowCacheTTL
	}
	if o.DenyCacheTTL <= 0 {
		o.DenyCacheTTL = DefaultDenyCacheTTL
	}
	if o.Backoff == nil {
		// k8s.io/apiserver/pkg/server/options.DefaultAuthWebhookRetryBackoff,
		// copied as controller-runtime's metrics filter does, to keep that
		// package's flags and dependencies out of the binary.
		o.Backoff = &wait.Backoff{Duration: 500 * time.Millisecond, Factor: 1.5, Jitter: 0.2, Steps: 5}
	}
	return o
}

// Delegate is a cached authenticator and authorizer that ask the
// Kubernetes API server.
type Delegate struct {
	// Authenticator accepts a request with an "Authorization: Bearer"
	// token the API server accepts (TokenReview), as that user plus
	// system:authenticated. Anonymous requests are not authenticated.
	Authenticator authenticator.Request
	// Authorizer answers with the API server's authorizers, RBAC among
	// them (SubjectAccessReview).
	Authorizer authorizer.Authorizer
}

// ReviewConfig returns the client configuration for the reviews: a copy
// of cfg with a timeout of DefaultReviewTimeout per request (cfg has none:
// the general client's watches must not time out).
func ReviewConfig(cfg *rest.Config) *rest.Config {
	c := rest.CopyConfig(cfg)
	c.Timeout = DefaultReviewTimeout
	return c
}

// New builds the Delegate on kube, which creates the TokenReviews and
// SubjectAccessReviews; its ServiceAccount needs create on both (the
// chart's ClusterRole grants it).
func New(kube kubernetes.Interface, opts Options) (*Delegate, error) {
	opts = opts.withDefaults()
	authn, _, err := authenticatorfactory.DelegatingAuthenticatorConfig{
		Anonymous:                &apiserverconfig.AnonymousAuthConfig{Enabled: false},
		TokenAccessReviewClient:  kube.AuthenticationV1(),
		TokenAccessReviewTimeout: DefaultReviewTimeout,
		WebhookRetryBackoff:      opts.Backoff,
		CacheTTL:                 opts.TokenCacheTTL,
		APIAudiences:             opts.Audiences,
	}.New()
	if err != nil {
		return nil, fmt.Errorf("delegating authenticator: %w", err)
	}
	authz, err := authorizerfactory.DelegatingAuthorizerConfig{
		SubjectAccessReviewClient: kube.AuthorizationV1(),
		AllowCacheTTL:             opts.AllowCacheTTL,
		DenyCacheTTL:              opts.DenyCacheTTL,
		WebhookRetryBackoff:       opts.Backoff,
	}.New()
	if err != nil {
		return nil, fmt.Errorf("delegating authorizer: %w", err)
	}
	return &Delegate{Authenticator: authn, Authorizer: authz}, nil
}
