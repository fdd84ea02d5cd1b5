// Forced-include header for building faiss-node against FAISS 1.7.x (Debian 12's libfaiss-dev).
// faiss-node's source uses faiss::idx_t, which FAISS 1.7.3 only declares inside faiss::Index.
#pragma once
#include <faiss/Index.h>
namespace faiss {
using idx_t = Index::idx_t;
}
