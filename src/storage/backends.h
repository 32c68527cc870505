// The concrete storage backends, named only by the factories (factory.cc) and the backends'
// own tests: everything else goes through landing.h and storage.h.
#ifndef SNAPDELTA_STORAGE_BACKENDS_H_
#define SNAPDELTA_STORAGE_BACKENDS_H_

#include <memory>
#include <string>

#include "snapdelta/landing.h"
#include "snapdelta/storage.h"

namespace snapdelta {

// The landing folder `dir`. Errors from List: kNotFound when `dir` does not exist.
std::unique_ptr<LandingZone> OpenLocalLanding(const std::string& dir);

// States under `dir`: <dir>/<tenant>/<table>/<version>.state.
std::unique_ptr<StateStore> OpenLocalStateStore(const std::string& dir);

}  // namespace snapdelta

#endif  // SNAPDELTA_STORAGE_BACKENDS_H_
