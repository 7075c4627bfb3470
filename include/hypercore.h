/* libhypercore — a C implementation of Hypercore, byte-compatible with hypercore@10.38.2.
 * The umbrella header: include this one. */
#ifndef HYPERCORE_H
#define HYPERCORE_H

#include "hypercore/common.h"
#include "hypercore/storage.h"
#include "hypercore/core.h"
#include "hypercore/session.h"
#include "hypercore/replicate.h"
#include "hypercore/net.h"
#include "hypercore/multisig.h"
#include "hypercore/store.h"
#include "hypercore/bee.h"
#include "hypercore/drive.h"

#endif
