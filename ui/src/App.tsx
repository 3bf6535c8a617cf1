// The app's top-level flow: pick (or create) a connection profile, sign in, then the
// shell with the screens the role may see.
import { useEffect, useState } from "react";
import { useQueryClient } from "@tanstack/react-query";

import { commands, type StaffInfo } from "./bindings";
import { unwrap } from "./backend/call";
import { LoadingState } from "./components/StateViews";
import { rememberProfile, rememberedProfile } from "./backend/lastProfile";
import { ProfilesScreen } from "./screens/profiles/ProfilesScreen";
import { SignInScreen } from "./screens/signin/SignInScreen";
import { Shell } from "./shell/Shell";

type Stage =
  | { kind: "starting" }
  | { kind: "profiles"; error?: string }
  | { kind: "sign-in"; profile: string }
  | { kind: "shell"; staff: StaffInfo; profile: string };

async function initialStage(): Promise<Stage> {
  const status = await commands.status();
  if (status.signed_in) return { kind: "shell", staff: status.signed_in, profile: status.profile ?? "" };
  if (status.profile) return { kind: "sign-in", profile: status.profile };
  const last = rememberedProfile();
  if (last) {
    const profiles = await unwrap(commands.profiles());
    if (profiles.some((p) => p.name === last)) {
      await unwrap(commands.selectProfile(last));
      return { kind: "sign-in", profile: last };
    }
  }
  return { kind: "profiles" };
}

export function App() {
  const [stage, setStage] = useState<Stage>({ kind: "starting" });
  const queryClient = useQueryClient();

  useEffect(() => {
    performance.mark("startup-commands-start");
    initialStage()
      .then((first) => {
        performance.mark("startup-commands-done");
        setStage(first);
      })
      .catch((error: unknown) => {
        setStage({ kind: "profiles", error: error instanceof Error ? error.message : String(error) });
      });
  }, []);

  switch (stage.kind) {
    case "starting":
      return <LoadingState label="Starting…" fullScreen />;
    case "profiles":
      return (
        <ProfilesScreen
          startupError={stage.error}
          onSelected={(profile) => {
            rememberProfile(profile);
            setStage({ kind: "sign-in", profile });
          }}
        />
      );
    case "sign-in":
      return (
        <SignInScreen
          profile={stage.profile}
          onSignedIn={(staff) => {
            setStage({ kind: "shell", staff, profile: stage.profile });
          }}
          onSwitchProfile={() => {
            setStage({ kind: "profiles" });
          }}
        />
      );
    case "shell":
      return (
        <Shell
          staff={stage.staff}
          profile={stage.profile}
          onSignedOut={(profile) => {
            queryClient.clear();
            setStage(profile ? { kind: "sign-in", profile } : { kind: "profiles" });
          }}
          onSignedInAgain={(staff) => {
            queryClient.clear();
            setStage({ kind: "shell", staff, profile: stage.profile });
          }}
        />
      );
  }
}
