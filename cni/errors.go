package cni

import (
	"errors"
	"fmt"

	"github.com/containernetworking/cni/pkg/types"

	"github.com/ebpfnet/ebpfnet/api"
	"github.com/ebpfnet/ebpfnet/client"
)

// Every error the plugin returns is a *types.Error with a code of the CNI spec (SPEC.md,
// "Error"), printed as JSON on stdout by skel:
//
//	 3 ErrUnknownContainer             the container's netns does not exist
//	 4 ErrInvalidEnvironmentVariables  malformed CNI_ARGS, CNI_NETNS naming the host's own netns
//	 6 ErrDecodingFailure              the config is not valid JSON or a field has the wrong type
//	 7 ErrInvalidNetworkConfig         a config value is wrong or cannot be served (bad MTU or
//	                                   labels, a malformed port mapping, no pod CIDR)
//	11 ErrTryAgainLater                the agent does not answer (ADD, DEL, CHECK, GC)
//	50 ErrPluginNotAvailable           STATUS: the agent does not answer or cannot serve ADD
//	999 ErrInternal                    anything else: refused by the agent (a port it cannot
//	                                   publish among them) or IPAM, a failed check, a recovered panic
//
// Errors of the IPAM plugin are passed through with their own code.

func newError(code uint, format string, a ...any) *types.Error {
	return types.NewError(code, fmt.Sprintf(format, a...), "")
}

func decodeError(format string, a ...any) *types.Error {
	return newError(types.ErrDecodingFailure, format, a...)
}

func configError(format string, a ...any) *types.Error {
	return newError(types.ErrInvalidNetworkConfig, format, a...)
}

func envError(format string, a ...any) *types.Error {
	return newError(types.ErrInvalidEnvironmentVariables, format, a...)
}

func internalError(format string, a ...any) *types.Error {
	return newError(types.ErrInternal, format, a...)
}

// agentError turns an agent client error into a CNI error: unreachable means try again later.
func agentError(what string, err error) *types.Error {
	if errors.Is(err, client.ErrAgentUnreachable) {
		return newError(types.ErrTryAgainLater, "%s: %v", what, err)
	}
	return internalError("%s: %v", what, err)
}

// isNotFound reports whether the agent answered that the name is unknown.
func isNotFound(err error) bool { return errors.Is(err, api.ErrNotFound) }

// asCNIError returns err as a *types.Error, wrapping foreign errors as ErrInternal.
func asCNIError(err error) *types.Error {
	var e *types.Error
	if errors.As(err, &e) {
		return e
	}
	return types.NewError(types.ErrInternal, err.Error(), "")
}

// withDetails appends the errors of a rollback to e's details.
func withDetails(e *types.Error, errs ...error) *types.Error {
	if err := errors.Join(errs...); err != nil {
		d := "rollback: " + err.Error()
		if e.Details != "" {
			d = e.Details + "; " + d
		}
		e = types.NewError(e.Code, e.Msg, d)
	}
	return e
}
