package httpapi

import (
	"context"
	"io"
	"net/http"

	"github.com/ebpfnet/ebpfnet/api"
)

// maxPrefilterList bounds a PUT /v1/prefilter body: twice a full list of 262,144 prefixes of
// up to 19 bytes and a newline.
const maxPrefilterList = 10 << 20

// PrefilterOperations are the agent's operations on the underlay's deny list.
type PrefilterOperations interface {
	Prefilter(context.Context) (api.Prefilter, error)
	AddPrefilter(context.Context, api.PrefilterRequest) (api.PrefilterChange, error)
	DeletePrefilter(context.Context, api.PrefilterRequest) (api.PrefilterChange, error)
	ApplyPrefilter(ctx context.Context, list []byte) (api.PrefilterChange, error)
}

// prefilterRoutes adds the prefilter API:
//
//	GET /v1/prefilter     POST /v1/prefilter (api.PrefilterRequest)   DELETE /v1/prefilter (api.PrefilterRequest)
//	PUT /v1/prefilter     (text: one prefix a line; replaces the list atomically)
func prefilterRoutes(mux *http.ServeMux, a PrefilterOperations) {
	answer(mux, "GET /v1/prefilter", http.StatusOK, a.Prefilter)
	answerJSON(mux, "POST /v1/prefilter", http.StatusOK, a.AddPrefilter)
	answerJSON(mux, "DELETE /v1/prefilter", http.StatusOK, a.DeletePrefilter)
	mux.HandleFunc("PUT /v1/prefilter", func(w http.ResponseWriter, r *http.Request) {
		data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPrefilterList))
		if err != nil {
			reply(w, http.StatusOK, nil, api.Errorf(api.ErrInvalid, "read prefilter list: %v", err))
			return
		}
		ch, err := a.ApplyPrefilter(requestContext(r), data)
		reply(w, http.StatusOK, ch, err)
	})
}
