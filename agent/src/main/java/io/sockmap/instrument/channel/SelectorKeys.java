package io.sockmap.instrument.channel;

import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.channels.SelectionKey;
import java.nio.channels.spi.AbstractSelectableChannel;

/**
 * Makes the selectors a channel is registered with translate its interest set again
 * ({@link #refresh}), through the JDK internals this needs by reflection (the agent opens
 * {@code java.nio.channels.spi} and {@code sun.nio.ch} to itself): a channel's registrations
 * ({@code AbstractSelectableChannel.keys}) and the selector's {@code setEventOps(SelectionKeyImpl)},
 * which queues a key for the selector to translate its interest set again. Same names on JDK 17,
 * 21 and 25. If either is missing, nothing is refreshed and spliced sources keep waking their
 * selector, as they did before (correct, only wasteful).
 */
final class SelectorKeys {
    private static final SelectionKey[] NONE = new SelectionKey[0];
    private static final Field KEYS = keysField();
    private static final ClassValue<Method> SET_EVENT_OPS = new ClassValue<>() {
        @Override
        protected Method computeValue(Class<?> selectorType) {
            for (Class<?> c = selectorType; c != null; c = c.getSuperclass()) {
                for (Method m : c.getDeclaredMethods()) {
                    if (m.getName().equals("setEventOps") && m.getParameterCount() == 1
                            && SelectionKey.class.isAssignableFrom(m.getParameterTypes()[0])) {
                        try {
                            m.setAccessible(true);
                            return m;
                        } catch (RuntimeException e) {
                            return null;
                        }
                    }
                }
            }
            return null;
        }
    };

    private SelectorKeys() {}

    /**
     * Makes every selector that {@code channel} is registered with translate its interest set
     * again at its next selection (what a change of {@code interestOps} does), and wakes it so
     * that happens now.
     */
    static void refresh(AbstractSelectableChannel channel) {
        for (SelectionKey key : of(channel)) {
            if (key == null || !key.isValid()) continue;
            if (requestUpdate(key)) key.selector().wakeup();
        }
    }

    /** A snapshot of the channel's keys (entries may be null). */
    private static SelectionKey[] of(AbstractSelectableChannel channel) {
        if (KEYS == null) return NONE;
        try {
            // read without the JDK's private keyLock: a key registered meanwhile is translated by its
            // registration anyway, and a cancelled one is skipped as invalid
            Object keys = KEYS.get(channel);
            return keys == null ? NONE : ((SelectionKey[]) keys).clone();
        } catch (ReflectiveOperationException | RuntimeException e) {
            return NONE;
        }
    }

    /** Queues {@code key} for its selector to translate its interest set again; false if that is not possible. */
    private static boolean requestUpdate(SelectionKey key) {
        Method m = SET_EVENT_OPS.get(key.selector().getClass());
        if (m == null) return false;
        try {
            m.invoke(key.selector(), key);
            return true;
        } catch (ReflectiveOperationException | RuntimeException e) {
            return false; // a closed selector throws ClosedSelectorException: nothing to refresh
        }
    }

    private static Field keysField() {
        try {
            Field f = AbstractSelectableChannel.class.getDeclaredField("keys");
            f.setAccessible(true);
            return f;
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }
}
