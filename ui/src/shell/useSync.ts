// Runs a sync of the selected profile, streams its progress through a Tauri channel,
// and refreshes every cached read when it ends.
import { useCallback, useRef, useState } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { Channel } from "@tauri-apps/api/core";

import { commands, type Progress } from "../bindings";
import { errorCode, errorMessage, unwrap } from "../backend/call";

export type SyncState = {
  running: boolean;
  progress: Progress | null;
  /** The last sync's failure, unless it was cancelled or found central offline. */
  error: string | null;
  start: () => void;
  cancel: () => void;
};

export function useSync(): SyncState {
  const queryClient = useQueryClient();
  const [running, setRunning] = useState(false);
  const [progress, setProgress] = useState<Progress | null>(null);
  const [error, setError] = useState<string | null>(null);
  const busy = useRef(false);

  const start = useCallback(() => {
    if (busy.current) return;
    busy.current = true;
    setRunning(true);
    setProgress(null);
    setError(null);
    const channel = new Channel<Progress>();
    channel.onmessage = setProgress;
    unwrap(commands.sync(channel))
      .catch((failure: unknown) => {
        if (errorCode(failure) !== "offline" && errorCode(failure) !== "cancelled") setError(errorMessage(failure));
      })
      .finally(() => {
        busy.current = false;
        setRunning(false);
        setProgress(null);
        void queryClient.invalidateQueries();
      });
  }, [queryClient]);

  const cancel = useCallback(() => {
    void commands.cancelSync();
  }, []);

  return { running, progress, error, start, cancel };
}
